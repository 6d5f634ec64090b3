package meter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/meter"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/sqlite"
)

var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func openDB(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return db
}

func newMeter(tb testing.TB, cfg meter.Config) *meter.Meter {
	tb.Helper()
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 }
	}
	m, err := meter.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func event(key string, at time.Time, route string, status int, ip string) amp.RequestEvent {
	return amp.RequestEvent{KeyID: key, AccountID: "acct_1", Mode: amp.ModeLive, Route: route,
		Status: status, ClientIP: ip, Duration: time.Millisecond, At: at}
}

// totals sums the rows of q by "key route class country".
func totals(t *testing.T, st amp.UsageStore, g amp.Granularity) map[string]int64 {
	t.Helper()
	rows, err := st.Usage(t.Context(), amp.UsageQuery{Granularity: g, AccountID: "acct_1"})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64)
	for _, r := range rows {
		if !g.Truncate(r.Start).Equal(r.Start) {
			t.Errorf("%s row starts at %v, not on a %s boundary", g, r.Start, g)
		}
		out[fmt.Sprintf("%s %s %s %dxx %s", r.Start.Format(time.RFC3339), r.KeyID, r.Route, r.StatusClass, r.Country)] += r.Requests
	}
	return out
}

func checkTotals(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows %v, want %d %v", what, len(got), got, len(want), want)
		return
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q = %d, want %d", what, k, got[k], w)
		}
	}
}

func TestCountsRolledUp(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "amp.db"))
	defer db.Close()
	m := newMeter(t, meter.Config{Store: db})
	const ctx = "POST /v1/context"
	for range 3 {
		m.Record(event("key_1", t0.Add(10*time.Second), ctx, 200, "8.8.8.8"))
	}
	m.Record(event("key_1", t0.Add(59*time.Second), ctx, 201, "8.8.8.8"))
	m.Record(event("key_1", t0.Add(61*time.Second), ctx, 200, "8.8.8.8"))
	m.Record(event("key_1", t0.Add(2*time.Hour), ctx, 503, "81.2.69.142"))
	m.Record(event("key_1", t0.Add(30*time.Hour), "GET /v1/profile/{userId}", 404, "10.1.2.3"))
	m.Record(event("", t0, ctx, 401, "8.8.8.8")) // never authenticated: not metered
	if err := m.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkTotals(t, "minutes", totals(t, db, amp.GranularityMinute), map[string]int64{
		"2026-03-14T12:00:00Z key_1 POST /v1/context 2xx US":         4,
		"2026-03-14T12:01:00Z key_1 POST /v1/context 2xx US":         1,
		"2026-03-14T14:00:00Z key_1 POST /v1/context 5xx GB":         1,
		"2026-03-15T18:00:00Z key_1 GET /v1/profile/{userId} 4xx ZZ": 1,
	})
	checkTotals(t, "hours", totals(t, db, amp.GranularityHour), map[string]int64{
		"2026-03-14T12:00:00Z key_1 POST /v1/context 2xx US":         5,
		"2026-03-14T14:00:00Z key_1 POST /v1/context 5xx GB":         1,
		"2026-03-15T18:00:00Z key_1 GET /v1/profile/{userId} 4xx ZZ": 1,
	})
	checkTotals(t, "days", totals(t, db, amp.GranularityDay), map[string]int64{
		"2026-03-14T00:00:00Z key_1 POST /v1/context 2xx US":         5,
		"2026-03-14T00:00:00Z key_1 POST /v1/context 5xx GB":         1,
		"2026-03-15T00:00:00Z key_1 GET /v1/profile/{userId} 4xx ZZ": 1,
	})
	if m.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", m.Dropped())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCountsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amp.db")
	const ctx = "POST /v1/context"
	run := func(n int) {
		db := openDB(t, path)
		m := newMeter(t, meter.Config{Store: db})
		m.Start()
		for range n {
			m.Record(event("key_1", t0, ctx, 200, "8.8.8.8"))
		}
		// Close flushes what the goroutine has not.
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run(7)
	run(5)
	db := openDB(t, path)
	defer db.Close()
	for _, g := range amp.Granularities {
		want := map[string]int64{fmt.Sprintf("%s key_1 %s 2xx US", g.Truncate(t0).Format(time.RFC3339), ctx): 12}
		checkTotals(t, string(g)+" after restarts", totals(t, db, g), want)
	}
}

// fakeStore records AddUsage and PruneUsage calls and can fail.
type fakeStore struct {
	mu     sync.Mutex
	fail   error
	rows   []amp.UsageRow
	pruned map[amp.Granularity]time.Time
}

func (s *fakeStore) AddUsage(_ context.Context, rows []amp.UsageRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.rows = append(s.rows, rows...)
	return nil
}

func (s *fakeStore) PruneUsage(_ context.Context, g amp.Granularity, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	if s.pruned == nil {
		s.pruned = make(map[amp.Granularity]time.Time)
	}
	s.pruned[g] = before
	return 0, nil
}

func (s *fakeStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// minuteTotal sums the stored minute rows.
func (s *fakeStore) minuteTotal() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, r := range s.rows {
		if r.Granularity == amp.GranularityMinute {
			n += r.Requests
		}
	}
	return n
}

func TestRecordNeverBlocks(t *testing.T) {
	st := &fakeStore{}
	m := newMeter(t, meter.Config{Store: st, QueueSize: 4})
	// Not started: nothing drains the queue, so it fills up.
	for range 10 {
		m.Record(event("key_1", t0, "POST /v1/context", 200, "8.8.8.8"))
	}
	if got := m.Dropped(); got != 6 {
		t.Fatalf("Dropped = %d, want 6", got)
	}
	if err := m.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := st.minuteTotal(); got != 4 {
		t.Fatalf("stored %d requests, want the 4 queued", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Record(event("key_1", t0, "POST /v1/context", 200, "8.8.8.8"))
	if got := m.Dropped(); got != 7 {
		t.Fatalf("Dropped after Close = %d, want 7", got)
	}
}

func TestFlushFailureKeepsCounts(t *testing.T) {
	st := &fakeStore{}
	mt := metrics.New()
	m := newMeter(t, meter.Config{Store: st, Metrics: mt})
	m.Start()
	defer m.Close()
	m.Record(event("key_1", t0, "POST /v1/context", 200, "8.8.8.8"))
	st.setFail(amp.ErrUnavailable)
	if err := m.Flush(t.Context()); !errors.Is(err, amp.ErrUnavailable) {
		t.Fatalf("Flush with the store down: %v, want ErrUnavailable", err)
	}
	m.Record(event("key_1", t0, "POST /v1/context", 200, "8.8.8.8"))
	st.setFail(nil)
	if err := m.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := st.minuteTotal(); got != 2 {
		t.Fatalf("stored %d requests, want 2", got)
	}
}

func TestPendingBounded(t *testing.T) {
	st := &fakeStore{}
	st.setFail(amp.ErrUnavailable)
	m := newMeter(t, meter.Config{Store: st, MaxPending: 3})
	for i := range 5 {
		m.Record(event(fmt.Sprint("key_", i), t0, "POST /v1/context", 200, "8.8.8.8"))
	}
	m.Record(event("key_0", t0, "POST /v1/context", 200, "8.8.8.8")) // an existing row still counts
	if err := m.Flush(t.Context()); err == nil {
		t.Fatal("Flush with the store down: no error")
	}
	if got := m.Dropped(); got != 2 {
		t.Fatalf("Dropped = %d, want the 2 events needing new rows past 3", got)
	}
	st.setFail(nil)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := st.minuteTotal(); got != 4 {
		t.Fatalf("stored %d requests, want 4", got)
	}
}

func TestInvalidEventsDropped(t *testing.T) {
	st := &fakeStore{}
	m := newMeter(t, meter.Config{Store: st})
	bad := event("key_1", t0, "POST /v1/context", 200, "8.8.8.8")
	bad.Mode = ""
	m.Record(bad)
	m.Record(event("key_1", t0, "POST /v1/context", 200, "8.8.8.8"))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if st.minuteTotal() != 1 || m.Dropped() != 1 {
		t.Fatalf("stored %d, dropped %d; want 1 and 1", st.minuteTotal(), m.Dropped())
	}
}

func TestRetention(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "amp.db"))
	defer db.Close()
	now := t0
	m := newMeter(t, meter.Config{Store: db, Now: func() time.Time { return now }})
	for _, age := range []time.Duration{0, 47 * time.Hour, 49 * time.Hour, 89 * 24 * time.Hour, 91 * 24 * time.Hour, 729 * 24 * time.Hour, 731 * 24 * time.Hour} {
		m.Record(event("key_1", t0.Add(-age), "POST /v1/context", 200, "8.8.8.8"))
	}
	if err := m.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	count := func(g amp.Granularity) int64 {
		var n int64
		for _, v := range totals(t, db, g) {
			n += v
		}
		return n
	}
	for _, c := range []struct {
		g    amp.Granularity
		want int64
	}{
		{amp.GranularityMinute, 2}, // 0 and 47 h
		{amp.GranularityHour, 4},   // up to 89 d
		{amp.GranularityDay, 6},    // up to 729 d
	} {
		if got := count(c.g); got != c.want {
			t.Errorf("%s rows after pruning: %d requests, want %d", c.g, got, c.want)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRunFlushesAndPrunes(t *testing.T) {
	st := &fakeStore{}
	m := newMeter(t, meter.Config{Store: st, FlushInterval: time.Millisecond})
	m.Start()
	var wg sync.WaitGroup
	const workers, each = 4, 500
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m.Record(event(fmt.Sprint("key_", w), t0.Add(time.Duration(i)*time.Second), "POST /v1/context", 200, "8.8.8.8"))
			}
		})
	}
	wg.Wait()
	// The retention job runs at the first tick; wait for it rather than
	// for a length of time.
	for {
		st.mu.Lock()
		pruned := st.pruned != nil
		st.mu.Unlock()
		if pruned {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := st.minuteTotal()+int64(m.Dropped()), int64(workers*each); got != want {
		t.Fatalf("stored + dropped = %d, want %d", got, want)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if want := amp.GranularityMinute.Truncate(t0.Add(-48 * time.Hour)); !st.pruned[amp.GranularityMinute].Equal(want) {
		t.Errorf("minute rows pruned before %v, want %v", st.pruned[amp.GranularityMinute], want)
	}
}

func TestCountry(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"8.8.8.8", "US"},
		{"81.2.69.142", "GB"},
		{"133.242.0.1", "JP"},
		{"2001:4860:4860::8888", "US"},
		{"::ffff:8.8.8.8", "US"},
		{"10.0.0.1", amp.UnknownCountry},
		{"192.168.1.1", amp.UnknownCountry},
		{"127.0.0.1", amp.UnknownCountry},
		{"::1", amp.UnknownCountry},
		{"fe80::1%eth0", amp.UnknownCountry},
		{"100.64.0.1", amp.UnknownCountry},
		{"203.0.113.5", amp.UnknownCountry},
		{"", amp.UnknownCountry},
		{"not an ip", amp.UnknownCountry},
		{"8.8.8.8:443", amp.UnknownCountry},
	} {
		if got := meter.Country(c.ip); got != c.want {
			t.Errorf("Country(%q) = %q, want %q", c.ip, got, c.want)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	m, err := meter.New(meter.Config{Store: &fakeStore{}, Metrics: metrics.New()})
	if err != nil {
		b.Fatal(err)
	}
	m.Start()
	defer m.Close()
	ev := event("key_1", time.Now(), "POST /v1/context", 200, "8.8.8.8")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Record(ev)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(m.Dropped())/float64(b.N), "dropped/op")
}

func BenchmarkCountry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		meter.Country("81.2.69.142")
	}
}

// discardStore accepts and forgets every row.
type discardStore struct{}

func (discardStore) AddUsage(context.Context, []amp.UsageRow) error { return nil }

func (discardStore) PruneUsage(context.Context, amp.Granularity, time.Time) (int64, error) {
	return 0, nil
}

// BenchmarkAggregate measures what the meter's goroutine can absorb: each
// op is one Record plus its share of draining, counting (country lookup
// included) and rolling up, over 10 keys and 200 client IPs.
func BenchmarkAggregate(b *testing.B) {
	m, err := meter.New(meter.Config{Store: discardStore{}, Metrics: metrics.New(), QueueSize: 4096})
	if err != nil {
		b.Fatal(err)
	}
	var evs []amp.RequestEvent
	for i := range 2000 {
		evs = append(evs, event(fmt.Sprint("key_", i%10), time.Now(), "POST /v1/context", 200,
			fmt.Sprintf("%d.%d.7.1", 20+i%200, i%7)))
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Record(evs[i%len(evs)])
		if i++; i%4096 == 0 {
			if err := m.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if m.Dropped() != 0 {
		b.Fatalf("dropped %d", m.Dropped())
	}
}
