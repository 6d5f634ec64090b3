package storetest

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// UsageBackend is what RunUsage checks: the meter's usage rows and the
// monthly quota counts, two roles that backends keep side by side.
type UsageBackend interface {
	amp.UsageStore
	amp.QuotaStore
}

// UsageOption configures RunUsage.
type UsageOption func(*usageSuite)

// ReopenUsage lets RunUsage check that counts survive a restart: fn gets a
// store the suite has closed and must return a new, open store on the same
// database. Without it, that test is skipped.
func ReopenUsage(fn func(t *testing.T, closed UsageBackend) UsageBackend) UsageOption {
	return func(s *usageSuite) { s.reopen = fn }
}

// RunUsage runs the conformance suite of amp.UsageStore and amp.QuotaStore
// as subtests of t.
// open must return a new, open store on an empty database each time. A
// store that implements io.Closer is closed by the suite, exactly once, at
// the end of the subtest that opened it (or before it is reopened).
//
//	func TestUsageStore(t *testing.T) {
//		storetest.RunUsage(t, func(t *testing.T) storetest.UsageBackend {
//			return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
//		}, storetest.ReopenUsage(…))
//	}
//
// Usage rows carry no foreign keys: the suite writes rows of accounts and
// keys it never creates.
func RunUsage(t *testing.T, open func(t *testing.T) UsageBackend, opts ...UsageOption) {
	s := &usageSuite{open: open}
	for _, o := range opts {
		o(s)
	}
	t.Run("AddUsage", s.testAddUsage)
	t.Run("UsageDims", s.testUsageDims)
	t.Run("UsageFilters", s.testUsageFilters)
	t.Run("UsageIsolation", s.testUsageIsolation)
	t.Run("PruneUsage", s.testPruneUsage)
	t.Run("UsageBatch", s.testUsageBatch)
	t.Run("UsageConcurrentAdds", s.testUsageConcurrentAdds)
	t.Run("UsageInvalid", s.testUsageInvalid)
	t.Run("UsageAdmission", s.testUsageAdmission)
	t.Run("QuotaUsage", s.testQuotaUsage)
	t.Run("UsageReopen", s.testUsageReopen)
}

type usageSuite struct {
	open   func(t *testing.T) UsageBackend
	reopen func(t *testing.T, closed UsageBackend) UsageBackend
}

// usageStore is a store under test, closed exactly once.
type usageStore struct {
	UsageBackend
	once sync.Once
	err  error
}

func (st *usageStore) close() error {
	st.once.Do(func() {
		if c, ok := st.UsageBackend.(io.Closer); ok {
			st.err = c.Close()
		}
	})
	return st.err
}

func (s *usageSuite) track(t *testing.T, us UsageBackend) *usageStore {
	t.Helper()
	if us == nil {
		t.Fatal("open returned a nil store")
	}
	st := &usageStore{UsageBackend: us}
	t.Cleanup(func() {
		if err := st.close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func (s *usageSuite) newStore(t *testing.T) *usageStore {
	t.Helper()
	return s.track(t, s.open(t))
}

// usageT0 is the first instant of a UTC day, a whole hour and minute.
var usageT0 = time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)

const (
	usageAcctA = "acct_usage_a"
	usageAcctB = "acct_usage_b"
)

// urow is a row of the suite: minute granularity unless g says otherwise.
func urow(g amp.Granularity, start time.Time, acct string, mode amp.Mode, key, route string, class int, country string, n int64) amp.UsageRow {
	return amp.UsageRow{Granularity: g, Start: start, AccountID: acct, Mode: mode, KeyID: key,
		Route: route, StatusClass: class, Country: country, Requests: n}
}

func minuteAt(m int) time.Time { return usageT0.Add(time.Duration(m) * time.Minute) }

func mustAddUsage(t *testing.T, st UsageBackend, rows ...amp.UsageRow) {
	t.Helper()
	if err := st.AddUsage(t.Context(), rows); err != nil {
		t.Fatalf("AddUsage: %v", err)
	}
}

func mustUsage(t *testing.T, st UsageBackend, q amp.UsageQuery) []amp.UsageRow {
	t.Helper()
	rows, err := st.Usage(t.Context(), q)
	if err != nil {
		t.Fatalf("Usage(%+v): %v", q, err)
	}
	return rows
}

// checkUsage compares rows with want, in order; times by instant, and
// every returned Start must be in UTC.
func checkUsage(t *testing.T, what string, got, want []amp.UsageRow) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.Start.Equal(w.Start) && g.Start.Location() == time.UTC &&
			g.Granularity == w.Granularity && g.AccountID == w.AccountID && g.Mode == w.Mode &&
			g.KeyID == w.KeyID && g.Route == w.Route && g.StatusClass == w.StatusClass &&
			g.Country == w.Country && g.Admission == w.Admission && g.Requests == w.Requests
	}
	if !same {
		t.Errorf("%s:\n got %s\nwant %s", what, fmtRows(got), fmtRows(want))
	}
}

func fmtRows(rows []amp.UsageRow) string {
	s := fmt.Sprintf("%d rows", len(rows))
	for _, r := range rows {
		start := "-"
		if !r.Start.IsZero() {
			start = r.Start.Format(time.RFC3339)
			if r.Start.Location() != time.UTC {
				start += "(not UTC)"
			}
		}
		s += fmt.Sprintf("\n  {%s %s %s/%s key=%q route=%q %dxx %q %s: %d}", r.Granularity, start, r.AccountID, r.Mode,
			r.KeyID, r.Route, r.StatusClass, r.Country, r.Admission, r.Requests)
	}
	return s
}

func (s *usageSuite) testAddUsage(t *testing.T) {
	st := s.newStore(t)
	const ctx, outcome = "POST /v1/context", "POST /v1/outcome"
	mustAddUsage(t, st,
		urow(amp.GranularityMinute, minuteAt(1), usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 5),
		urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 3),
		urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", ctx, 4, "US", 1),
		urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", outcome, 2, "DE", 2),
		urow(amp.GranularityHour, usageT0, usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 8),
	)
	// Adding to an existing row sums; a time in another zone is the same
	// instant.
	mustAddUsage(t, st,
		urow(amp.GranularityMinute, minuteAt(0).In(elsewhere), usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 4),
		urow(amp.GranularityHour, usageT0, usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 4),
	)
	got := mustUsage(t, st, amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: usageAcctA})
	checkUsage(t, "minute rows", got, []amp.UsageRow{
		urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 7),
		urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", ctx, 4, "US", 1),
		urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", outcome, 2, "DE", 2),
		urow(amp.GranularityMinute, minuteAt(1), usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 5),
	})
	got = mustUsage(t, st, amp.UsageQuery{Granularity: amp.GranularityHour, AccountID: usageAcctA, Dims: amp.DimAll})
	checkUsage(t, "hour rows", got, []amp.UsageRow{
		urow(amp.GranularityHour, usageT0, usageAcctA, amp.ModeLive, "key_1", ctx, 2, "US", 12),
	})
	if got := mustUsage(t, st, amp.UsageQuery{Granularity: amp.GranularityDay, AccountID: usageAcctA}); len(got) != 0 {
		t.Errorf("day rows: got %s, want none", fmtRows(got))
	}
	// An empty batch is a no-op.
	if err := st.AddUsage(t.Context(), nil); err != nil {
		t.Errorf("AddUsage(nil): %v", err)
	}
}

// seedDims writes a small matrix of rows of account A in two modes.
func seedDims(t *testing.T, st UsageBackend) {
	t.Helper()
	var rows []amp.UsageRow
	for m := range 3 {
		for _, k := range []struct {
			key  string
			mode amp.Mode
		}{{"key_live", amp.ModeLive}, {"key_test", amp.ModeTest}} {
			rows = append(rows,
				urow(amp.GranularityMinute, minuteAt(m), usageAcctA, k.mode, k.key, "POST /v1/context", 2, "US", int64(10+m)),
				urow(amp.GranularityMinute, minuteAt(m), usageAcctA, k.mode, k.key, "POST /v1/context", 5, "US", 1),
				urow(amp.GranularityMinute, minuteAt(m), usageAcctA, k.mode, k.key, "GET /v1/profile/{userId}", 4, "FR", 2),
			)
		}
	}
	mustAddUsage(t, st, rows...)
}

func (s *usageSuite) testUsageDims(t *testing.T) {
	st := s.newStore(t)
	seedDims(t, st)
	m := amp.GranularityMinute
	base := amp.UsageQuery{Granularity: m, AccountID: usageAcctA, Mode: amp.ModeLive}

	q := base
	q.Dims = amp.DimCountry
	checkUsage(t, "by country", mustUsage(t, st, q), []amp.UsageRow{
		urow(m, time.Time{}, usageAcctA, amp.ModeLive, "", "", 0, "FR", 6),
		urow(m, time.Time{}, usageAcctA, amp.ModeLive, "", "", 0, "US", 36),
	})

	q.Dims = amp.DimStart | amp.DimStatus
	checkUsage(t, "by minute and status", mustUsage(t, st, q), []amp.UsageRow{
		urow(m, minuteAt(0), usageAcctA, amp.ModeLive, "", "", 2, "", 10),
		urow(m, minuteAt(0), usageAcctA, amp.ModeLive, "", "", 4, "", 2),
		urow(m, minuteAt(0), usageAcctA, amp.ModeLive, "", "", 5, "", 1),
		urow(m, minuteAt(1), usageAcctA, amp.ModeLive, "", "", 2, "", 11),
		urow(m, minuteAt(1), usageAcctA, amp.ModeLive, "", "", 4, "", 2),
		urow(m, minuteAt(1), usageAcctA, amp.ModeLive, "", "", 5, "", 1),
		urow(m, minuteAt(2), usageAcctA, amp.ModeLive, "", "", 2, "", 12),
		urow(m, minuteAt(2), usageAcctA, amp.ModeLive, "", "", 4, "", 2),
		urow(m, minuteAt(2), usageAcctA, amp.ModeLive, "", "", 5, "", 1),
	})

	// Both modes: mode is always kept, so each mode has its own row.
	q = amp.UsageQuery{Granularity: m, AccountID: usageAcctA, Dims: amp.DimKey | amp.DimRoute}
	checkUsage(t, "by key and route, both modes", mustUsage(t, st, q), []amp.UsageRow{
		urow(m, time.Time{}, usageAcctA, amp.ModeLive, "key_live", "GET /v1/profile/{userId}", 0, "", 6),
		urow(m, time.Time{}, usageAcctA, amp.ModeLive, "key_live", "POST /v1/context", 0, "", 36),
		urow(m, time.Time{}, usageAcctA, amp.ModeTest, "key_test", "GET /v1/profile/{userId}", 0, "", 6),
		urow(m, time.Time{}, usageAcctA, amp.ModeTest, "key_test", "POST /v1/context", 0, "", 36),
	})
}

func (s *usageSuite) testUsageFilters(t *testing.T) {
	st := s.newStore(t)
	seedDims(t, st)
	m := amp.GranularityMinute
	total := func(q amp.UsageQuery) int64 {
		t.Helper()
		q.Granularity, q.Dims = m, amp.DimStart
		var n int64
		for _, r := range mustUsage(t, st, q) {
			n += r.Requests
		}
		return n
	}
	for _, c := range []struct {
		name string
		q    amp.UsageQuery
		want int64
	}{
		{"account", amp.UsageQuery{AccountID: usageAcctA}, 84},
		{"mode live", amp.UsageQuery{AccountID: usageAcctA, Mode: amp.ModeLive}, 42},
		{"key", amp.UsageQuery{AccountID: usageAcctA, KeyID: "key_test"}, 42},
		{"key and its mode", amp.UsageQuery{AccountID: usageAcctA, KeyID: "key_test", Mode: amp.ModeTest}, 42},
		{"key and the other mode", amp.UsageQuery{AccountID: usageAcctA, KeyID: "key_test", Mode: amp.ModeLive}, 0},
		{"unknown key", amp.UsageQuery{AccountID: usageAcctA, KeyID: "key_nope"}, 0},
		{"from inclusive", amp.UsageQuery{AccountID: usageAcctA, Mode: amp.ModeLive, From: minuteAt(1)}, 14 + 15},
		{"to exclusive", amp.UsageQuery{AccountID: usageAcctA, Mode: amp.ModeLive, To: minuteAt(1)}, 13},
		{"from and to", amp.UsageQuery{AccountID: usageAcctA, Mode: amp.ModeLive, From: minuteAt(1), To: minuteAt(2)}, 14},
		{"bounds in another zone", amp.UsageQuery{AccountID: usageAcctA, Mode: amp.ModeLive, From: minuteAt(1).In(elsewhere), To: minuteAt(2).In(elsewhere)}, 14},
		{"empty range", amp.UsageQuery{AccountID: usageAcctA, From: minuteAt(2), To: minuteAt(2)}, 0},
	} {
		if got := total(c.q); got != c.want {
			t.Errorf("%s: %d requests, want %d", c.name, got, c.want)
		}
	}
}

func (s *usageSuite) testUsageIsolation(t *testing.T) {
	st := s.newStore(t)
	m := amp.GranularityMinute
	mustAddUsage(t, st,
		urow(m, minuteAt(0), usageAcctA, amp.ModeLive, "key_a", "POST /v1/context", 2, "US", 1),
		urow(m, minuteAt(0), usageAcctB, amp.ModeLive, "key_b", "POST /v1/context", 2, "US", 2),
	)
	got := mustUsage(t, st, amp.UsageQuery{Granularity: m, AccountID: usageAcctA})
	checkUsage(t, "account A", got, []amp.UsageRow{
		urow(m, minuteAt(0), usageAcctA, amp.ModeLive, "key_a", "POST /v1/context", 2, "US", 1),
	})
	// Naming another account's key does not reach it.
	if got := mustUsage(t, st, amp.UsageQuery{Granularity: m, AccountID: usageAcctA, KeyID: "key_b"}); len(got) != 0 {
		t.Errorf("account A, key of B: got %s, want none", fmtRows(got))
	}
	if got := mustUsage(t, st, amp.UsageQuery{Granularity: m, AccountID: "acct_usage_none"}); len(got) != 0 {
		t.Errorf("unknown account: got %s, want none", fmtRows(got))
	}
}

func (s *usageSuite) testPruneUsage(t *testing.T) {
	st := s.newStore(t)
	var rows []amp.UsageRow
	for _, g := range amp.Granularities {
		for i := range 4 {
			rows = append(rows, urow(g, usageT0.Add(time.Duration(i)*g.Duration()), usageAcctA, amp.ModeLive, "key_1", "POST /v1/context", 2, "US", 1))
		}
	}
	mustAddUsage(t, st, rows...)
	n, err := st.PruneUsage(t.Context(), amp.GranularityMinute, minuteAt(2))
	if err != nil || n != 2 {
		t.Fatalf("PruneUsage(minute, +2m) = %d, %v; want 2, nil", n, err)
	}
	for _, c := range []struct {
		g    amp.Granularity
		want []time.Time
	}{
		{amp.GranularityMinute, []time.Time{minuteAt(2), minuteAt(3)}},
		{amp.GranularityHour, []time.Time{usageT0, usageT0.Add(time.Hour), usageT0.Add(2 * time.Hour), usageT0.Add(3 * time.Hour)}},
		{amp.GranularityDay, []time.Time{usageT0, usageT0.AddDate(0, 0, 1), usageT0.AddDate(0, 0, 2), usageT0.AddDate(0, 0, 3)}},
	} {
		var starts []time.Time
		for _, r := range mustUsage(t, st, amp.UsageQuery{Granularity: c.g, AccountID: usageAcctA}) {
			starts = append(starts, r.Start)
		}
		if !slices.EqualFunc(starts, c.want, time.Time.Equal) {
			t.Errorf("%s rows after pruning minutes: starts %v, want %v", c.g, starts, c.want)
		}
	}
	if n, err := st.PruneUsage(t.Context(), amp.GranularityMinute, minuteAt(2)); err != nil || n != 0 {
		t.Errorf("second PruneUsage = %d, %v; want 0, nil", n, err)
	}
	if n, err := st.PruneUsage(t.Context(), amp.GranularityDay, usageT0.AddDate(1, 0, 0)); err != nil || n != 4 {
		t.Errorf("PruneUsage(day, +1y) = %d, %v; want 4, nil", n, err)
	}
}

func (s *usageSuite) testUsageBatch(t *testing.T) {
	// One flush of a busy meter: thousands of rows in one call (under -race, SQLite is slow: keep it modest).
	st := s.newStore(t)
	countries := []string{"US", "DE", "FR", "JP", "BR"}
	var rows []amp.UsageRow
	for i := range 1000 {
		rows = append(rows, urow(amp.GranularityMinute, minuteAt(i%60), usageAcctA, amp.ModeLive,
			fmt.Sprintf("key_%d", i%10), "POST /v1/context", 2+i%4, countries[i%len(countries)], int64(i%7+1)))
	}
	mustAddUsage(t, st, rows...)
	mustAddUsage(t, st, rows...)
	var want, got int64
	for _, r := range rows {
		want += 2 * r.Requests
	}
	for _, r := range mustUsage(t, st, amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: usageAcctA, Dims: amp.DimCountry}) {
		got += r.Requests
	}
	if got != want {
		t.Fatalf("total after two batches of 1000 rows: %d, want %d", got, want)
	}
}

func (s *usageSuite) testUsageConcurrentAdds(t *testing.T) {
	st := s.newStore(t)
	const workers, adds = 8, 25
	r := urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", "POST /v1/context", 2, "US", 1)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range adds {
				if err := st.AddUsage(t.Context(), []amp.UsageRow{r}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AddUsage: %v", err)
	}
	r.Requests = workers * adds
	checkUsage(t, "after concurrent adds", mustUsage(t, st, amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: usageAcctA}), []amp.UsageRow{r})
}

func (s *usageSuite) testUsageInvalid(t *testing.T) {
	st := s.newStore(t)
	good := urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", "POST /v1/context", 2, "US", 1)
	bad := good
	bad.Granularity = "week"
	if err := st.AddUsage(t.Context(), []amp.UsageRow{good, bad}); err == nil {
		t.Error("AddUsage with a bad granularity: no error")
	}
	// The batch failed as a whole.
	if got := mustUsage(t, st, amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: usageAcctA}); len(got) != 0 {
		t.Errorf("after a failed batch: got %s, want none", fmtRows(got))
	}
	if _, err := st.Usage(t.Context(), amp.UsageQuery{Granularity: "week", AccountID: usageAcctA}); err == nil {
		t.Error("Usage with a bad granularity: no error")
	}
	if _, err := st.Usage(t.Context(), amp.UsageQuery{Granularity: amp.GranularityMinute}); err == nil {
		t.Error("Usage without an account: no error")
	}
	if _, err := st.PruneUsage(t.Context(), "week", usageT0); err == nil {
		t.Error("PruneUsage with a bad granularity: no error")
	}
}

// testUsageAdmission: refused requests are counted in rows of their own,
// one per admission, beside the admitted ones with the same other
// dimensions; dropping the dimension sums them, and an unknown admission
// fails the batch.
func (s *usageSuite) testUsageAdmission(t *testing.T) {
	st := s.newStore(t)
	row := func(a amp.Admission, class int, n int64) amp.UsageRow {
		r := urow(amp.GranularityMinute, minuteAt(0), usageAcctA, amp.ModeLive, "key_1", "POST /v1/context", class, "US", n)
		r.Admission = a
		return r
	}
	mustAddUsage(t, st, row(amp.AdmissionAdmitted, 2, 10), row(amp.AdmissionRateLimited, 4, 16),
		row(amp.AdmissionQuotaExceeded, 4, 3), row(amp.AdmissionAuthFailed, 4, 2), row(amp.AdmissionRateLimited, 4, 1))
	q := amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: usageAcctA}
	checkUsage(t, "every dimension", mustUsage(t, st, q), []amp.UsageRow{
		row(amp.AdmissionAdmitted, 2, 10), row(amp.AdmissionAuthFailed, 4, 2), row(amp.AdmissionQuotaExceeded, 4, 3), row(amp.AdmissionRateLimited, 4, 17),
	})
	q.Dims = amp.DimAdmission
	byAdmission := func(a amp.Admission, n int64) amp.UsageRow {
		return amp.UsageRow{Granularity: amp.GranularityMinute, AccountID: usageAcctA, Mode: amp.ModeLive, Admission: a, Requests: n}
	}
	checkUsage(t, "by admission", mustUsage(t, st, q), []amp.UsageRow{
		byAdmission(amp.AdmissionAdmitted, 10), byAdmission(amp.AdmissionAuthFailed, 2), byAdmission(amp.AdmissionQuotaExceeded, 3), byAdmission(amp.AdmissionRateLimited, 17),
	})
	q.Dims = amp.DimKey
	all := amp.UsageRow{Granularity: amp.GranularityMinute, AccountID: usageAcctA, Mode: amp.ModeLive, KeyID: "key_1", Requests: 32}
	checkUsage(t, "summed over admissions", mustUsage(t, st, q), []amp.UsageRow{all})
	if err := st.AddUsage(t.Context(), []amp.UsageRow{row("refused", 4, 1)}); err == nil {
		t.Error("AddUsage with an unknown admission: no error")
	}
}

func (s *usageSuite) testQuotaUsage(t *testing.T) { checkQuotaStore(t, s.newStore(t)) }

// checkQuotaStore checks the counts of st, an empty store.
func checkQuotaStore(t *testing.T, st amp.QuotaStore) {
	ctx := t.Context()
	june := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	july := june.AddDate(0, 1, 0)
	if n, err := st.QuotaUsage(ctx, usageAcctA, june); err != nil || n != 0 {
		t.Fatalf("QuotaUsage before any = %d, %v; want 0, nil", n, err)
	}
	if err := st.AddQuotaUsage(ctx, []amp.QuotaDelta{
		{AccountID: usageAcctA, Month: june, Delta: 5},
		{AccountID: usageAcctA, Month: july, Delta: 1},
		{AccountID: usageAcctB, Month: june, Delta: 100},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddQuotaUsage(ctx, []amp.QuotaDelta{
		{AccountID: usageAcctA, Month: june, Delta: 7},
		{AccountID: usageAcctA, Month: june, Delta: -2},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddQuotaUsage(ctx, nil); err != nil {
		t.Fatalf("AddQuotaUsage(nil): %v", err)
	}
	for _, c := range []struct {
		acct  string
		month time.Time
		want  int64
	}{
		{usageAcctA, june, 10},
		{usageAcctA, july, 1},
		{usageAcctA, june.In(elsewhere), 10},
		{usageAcctB, june, 100},
		{usageAcctB, july, 0},
		{"acct_usage_none", june, 0},
	} {
		if n, err := st.QuotaUsage(ctx, c.acct, c.month); err != nil || n != c.want {
			t.Errorf("QuotaUsage(%s, %s) = %d, %v; want %d", c.acct, c.month.Format("2006-01"), n, err, c.want)
		}
	}
}

func (s *usageSuite) testUsageReopen(t *testing.T) {
	if s.reopen == nil {
		t.Skip("the backend gave no storetest.ReopenUsage hook")
	}
	st := s.newStore(t)
	june := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	r := urow(amp.GranularityHour, usageT0, usageAcctA, amp.ModeLive, "key_1", "POST /v1/context", 2, "US", 3)
	mustAddUsage(t, st, r)
	if err := st.AddQuotaUsage(t.Context(), []amp.QuotaDelta{{AccountID: usageAcctA, Month: june, Delta: 3}}); err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st2 := s.track(t, s.reopen(t, st.UsageBackend))
	mustAddUsage(t, st2, r)
	r.Requests = 6
	checkUsage(t, "after reopening", mustUsage(t, st2, amp.UsageQuery{Granularity: amp.GranularityHour, AccountID: usageAcctA}), []amp.UsageRow{r})
	if n, err := st2.QuotaUsage(t.Context(), usageAcctA, june); err != nil || n != 3 {
		t.Errorf("QuotaUsage after reopening = %d, %v; want 3", n, err)
	}
}
