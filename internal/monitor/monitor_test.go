package monitor_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/meter"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/monitor"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// now is the fake clock's time in every test.
var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

const ctxRoute = "POST /v1/context"

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amp.db"),
		sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newMeter(t *testing.T, st amp.UsageStore) *meter.Meter {
	t.Helper()
	m, err := meter.New(meter.Config{Store: st, Now: func() time.Time { return now }, Metrics: metrics.New(), QueueSize: 1 << 14})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func liveKey(id string) *amp.APIKey {
	return &amp.APIKey{ID: id, AccountID: "acct_1", Mode: amp.ModeLive}
}

// send records n requests of k at at from ip, flushing when the queue
// could fill up.
func send(t *testing.T, m *meter.Meter, k *amp.APIKey, at time.Time, n int, status int, ip string) {
	t.Helper()
	for range n {
		m.Record(amp.RequestEvent{KeyID: k.ID, AccountID: k.AccountID, Mode: k.Mode, Route: ctxRoute,
			Status: status, ClientIP: ip, Duration: time.Millisecond, At: at})
	}
	if m.Dropped() != 0 {
		t.Fatalf("meter dropped %d events", m.Dropped())
	}
}

// steady records one request of k every 5 minutes over [from, to) from ip.
func steady(t *testing.T, m *meter.Meter, k *amp.APIKey, from, to time.Time, ip string) {
	t.Helper()
	for at := from; at.Before(to); at = at.Add(5 * time.Minute) {
		send(t, m, k, at, 1, 200, ip)
	}
	if err := m.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestBurstAndNewCountryFlagged(t *testing.T) {
	db := openDB(t)
	m := newMeter(t, db)
	leaked, normal := liveKey("key_leaked"), liveKey("key_normal")
	// Three days of a request every 5 minutes from the US (Google's
	// resolver address stands for the integrator's server)…
	for _, k := range []*amp.APIKey{leaked, normal} {
		steady(t, m, k, now.Add(-72*time.Hour), now, "8.8.8.8")
	}
	// …then, 7 minutes ago, 300 requests in one minute from another US
	// address, and 2 minutes ago a few from Great Britain.
	burstAt := now.Add(-7 * time.Minute)
	send(t, m, leaked, burstAt.Add(10*time.Second), 300, 200, "8.8.4.4")
	send(t, m, leaked, now.Add(-2*time.Minute), 3, 200, "81.2.69.142")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := monitor.KeyReport(t.Context(), db, leaked, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := r.Flags
	if f.Burst == nil {
		t.Fatalf("no burst flagged: %+v", f)
	}
	if !f.Burst.At.Equal(burstAt) || f.Burst.Requests != 300 || math.Abs(f.Burst.Baseline-0.2) > 1e-9 {
		t.Errorf("burst = %+v, want 300 requests at %v over a baseline of 0.2/min", *f.Burst, burstAt)
	}
	if len(f.NewCountries) != 1 || f.NewCountries[0].Country != "GB" || f.NewCountries[0].Requests != 3 ||
		!f.NewCountries[0].FirstSeen.Equal(now.Add(-2*time.Minute)) {
		t.Errorf("new countries = %+v, want GB with 3 requests 2 minutes ago", f.NewCountries)
	}
	if !f.SuspectedLeak || len(f.Reasons) != 2 || !strings.Contains(f.Reasons[1], "GB") {
		t.Errorf("leak = %v, reasons %q; want suspected, with a burst and GB", f.SuspectedLeak, f.Reasons)
	}

	r, err = monitor.KeyReport(t.Context(), db, normal, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags.SuspectedLeak || r.Flags.Burst != nil || len(r.Flags.NewCountries) != 0 {
		t.Errorf("steady key flagged: %+v", r.Flags)
	}

	// The account report gathers its keys' flags.
	ar, err := monitor.AccountReport(t.Context(), db, "acct_1", amp.ModeLive, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(ar.Keys) != 2 || ar.Keys[0].KeyID != leaked.ID || !ar.Keys[0].Flags.SuspectedLeak || ar.Keys[1].Flags.SuspectedLeak {
		t.Fatalf("account keys = %+v, want the leaked key first and alone flagged", ar.Keys)
	}
	if !ar.Flags.SuspectedLeak || len(ar.Flags.Reasons) != 2 || !strings.HasPrefix(ar.Flags.Reasons[0], "key key_leaked: ") {
		t.Errorf("account flags = %+v, want the leaked key's two reasons", ar.Flags)
	}
	// Over a window that includes the three days, GB is still new: the key
	// had used only the US before it.
	r, err = monitor.KeyReport(t.Context(), db, leaked, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Flags.NewCountries) != 1 || r.Flags.Burst == nil {
		t.Errorf("24 h report flags = %+v, want the burst and GB", r.Flags)
	}
}

func TestNoHistoryNoNewCountry(t *testing.T) {
	db := openDB(t)
	m := newMeter(t, db)
	k := liveKey("key_new")
	send(t, m, k, now.Add(-30*time.Minute), 5, 200, "8.8.8.8")
	send(t, m, k, now.Add(-20*time.Minute), 5, 200, "81.2.69.142")
	send(t, m, k, now.Add(-10*time.Minute), 500, 200, "133.242.0.1")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := monitor.KeyReport(t.Context(), db, k, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A new key has neither a baseline nor countries it used before.
	if r.Flags.SuspectedLeak {
		t.Errorf("key without history flagged: %+v", r.Flags)
	}
	if len(r.Countries) != 3 || r.Countries[0].Country != "JP" || r.Countries[0].Requests != 500 {
		t.Errorf("countries = %+v, want JP first with 500", r.Countries)
	}
}

func TestUnknownCountryNeverNew(t *testing.T) {
	db := openDB(t)
	m := newMeter(t, db)
	k := liveKey("key_1")
	steady(t, m, k, now.Add(-24*time.Hour), now.Add(-time.Hour), "8.8.8.8")
	send(t, m, k, now.Add(-10*time.Minute), 5, 200, "10.0.0.7")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := monitor.KeyReport(t.Context(), db, k, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Flags.NewCountries) != 0 {
		t.Errorf("new countries = %+v, want none: a private address has no country", r.Flags.NewCountries)
	}
}

func TestBurstThresholds(t *testing.T) {
	for _, c := range []struct {
		name     string
		perHour  int64 // baseline requests in each of the 24 hours before the scan
		hours    int   // how many of those hours were active
		peak     int64 // requests in the busiest recent minute
		flagged  bool
		baseline float64
	}{
		{"far above baseline", 60, 24, 100, true, 1},
		{"just above factor", 60, 24, 11, false, 1}, // below MinBurst
		{"above factor and minimum", 60, 24, 61, true, 1},
		{"at factor", 600, 24, 100, false, 10},
		{"busy key", 6000, 24, 900, false, 100},
		{"too little history", 60, 2, 1000, false, 0},
		{"idle hours ignored", 60, 3, 100, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openDB(t)
			k := liveKey("key_1")
			var rows []amp.UsageRow
			row := func(g amp.Granularity, start time.Time, n int64) amp.UsageRow {
				return amp.UsageRow{Granularity: g, Start: start, AccountID: k.AccountID, Mode: k.Mode, KeyID: k.ID,
					Route: ctxRoute, StatusClass: 2, Country: "US", Requests: n}
			}
			// The scan covers the report's hour; the baseline is the week
			// before it.
			for h := range c.hours {
				rows = append(rows, row(amp.GranularityHour, now.Add(-time.Duration(h+2)*time.Hour), c.perHour))
			}
			rows = append(rows, row(amp.GranularityMinute, now.Add(-30*time.Minute), c.peak))
			if err := db.AddUsage(t.Context(), rows); err != nil {
				t.Fatal(err)
			}
			r, err := monitor.KeyReport(t.Context(), db, k, now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Flags.Burst != nil; got != c.flagged {
				t.Fatalf("flagged = %v (%+v), want %v", got, r.Flags.Burst, c.flagged)
			}
			if c.flagged && math.Abs(r.Flags.Burst.Baseline-c.baseline) > 1e-9 {
				t.Errorf("baseline = %v, want %v", r.Flags.Burst.Baseline, c.baseline)
			}
		})
	}
}

func TestReportSeriesAndRates(t *testing.T) {
	db := openDB(t)
	m := newMeter(t, db)
	k := liveKey("key_1")
	other := &amp.APIKey{ID: "key_test", AccountID: "acct_1", Mode: amp.ModeTest}
	send(t, m, k, now.Add(-3*time.Minute), 50, 200, "8.8.8.8")
	send(t, m, k, now.Add(-3*time.Minute), 6, 429, "8.8.8.8")
	send(t, m, k, now.Add(-2*time.Minute), 30, 200, "81.2.69.142")
	send(t, m, k, now.Add(-2*time.Minute), 4, 500, "81.2.69.142")
	for range 10 {
		m.Record(amp.RequestEvent{KeyID: k.ID, AccountID: k.AccountID, Mode: k.Mode, Route: "GET /v1/profile/{userId}",
			Status: 404, ClientIP: "8.8.8.8", At: now.Add(-time.Minute)})
	}
	send(t, m, other, now.Add(-time.Minute), 7, 200, "8.8.8.8")
	send(t, m, k, now.Add(-2*time.Hour), 1000, 200, "8.8.8.8") // before the window
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := monitor.KeyReport(t.Context(), db, k, now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Granularity != amp.GranularityMinute || !r.From.Equal(now.Add(-10*time.Minute)) || len(r.Series) != 11 {
		t.Fatalf("granularity %s, from %v, %d points; want minutes from %v, 11 points", r.Granularity, r.From, len(r.Series), now.Add(-10*time.Minute))
	}
	if r.Requests != 100 || r.ClientErrors != 16 || r.ServerErrors != 4 || math.Abs(r.ErrorRate-0.2) > 1e-9 {
		t.Errorf("totals %d requests, %d 4xx, %d 5xx, error rate %v; want 100, 16, 4, 0.2", r.Requests, r.ClientErrors, r.ServerErrors, r.ErrorRate)
	}
	p := r.Series[7] // now-3m
	if !p.Start.Equal(now.Add(-3*time.Minute)) || p.Requests != 56 || p.ClientErrors != 6 || math.Abs(p.Rate-56.0/60) > 1e-9 {
		t.Errorf("point at -3m = %+v, want 56 requests, 6 client errors, 56/60 per second", p)
	}
	if math.Abs(r.PeakRate-56.0/60) > 1e-9 || math.Abs(r.MeanRate-100.0/600) > 1e-9 {
		t.Errorf("peak %v, mean %v; want %v and %v", r.PeakRate, r.MeanRate, 56.0/60, 100.0/600)
	}
	if len(r.Routes) != 2 || r.Routes[0].Route != ctxRoute || r.Routes[0].Requests != 90 || r.Routes[1].ErrorRate != 1 {
		t.Errorf("routes = %+v, want context (90) then profile (all errors)", r.Routes)
	}
	if len(r.Countries) != 2 || r.Countries[0] != (monitor.CountryShare{Country: "US", Requests: 66, Share: 0.66}) {
		t.Errorf("countries = %+v, want US 66 (0.66) then GB", r.Countries)
	}

	// The account report over both modes counts the test key too; over
	// live only, it does not.
	ar, err := monitor.AccountReport(t.Context(), db, "acct_1", "", now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if ar.Requests != 107 || len(ar.Keys) != 2 {
		t.Errorf("account, both modes: %d requests over %d keys; want 107 over 2", ar.Requests, len(ar.Keys))
	}
	ar, err = monitor.AccountReport(t.Context(), db, "acct_1", amp.ModeLive, now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if ar.Requests != 100 || len(ar.Keys) != 1 {
		t.Errorf("account, live: %d requests over %d keys; want 100 over 1", ar.Requests, len(ar.Keys))
	}

	// A day's report is hourly and includes the earlier hour.
	r, err = monitor.KeyReport(t.Context(), db, k, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.Granularity != amp.GranularityHour || r.Requests != 1100 || len(r.Series) != 25 {
		t.Errorf("day report: %s, %d requests, %d points; want hours, 1100, 25", r.Granularity, r.Requests, len(r.Series))
	}
}

func TestGranularityFor(t *testing.T) {
	for _, c := range []struct {
		window time.Duration
		want   amp.Granularity
	}{
		{time.Hour, amp.GranularityMinute},
		{6 * time.Hour, amp.GranularityMinute},
		{7 * time.Hour, amp.GranularityHour},
		{14 * 24 * time.Hour, amp.GranularityHour},
		{30 * 24 * time.Hour, amp.GranularityDay},
	} {
		if got := monitor.GranularityFor(c.window); got != c.want {
			t.Errorf("GranularityFor(%v) = %s, want %s", c.window, got, c.want)
		}
	}
}

// TestRefusalsReportedAndFlagged: requests refused at the door (the rate
// limit, the quota, a revoked key) are their own series in a report and
// raise the leak flag: the throttled burst of a leaked key.
func TestRefusalsReportedAndFlagged(t *testing.T) {
	db := openDB(t)
	m := newMeter(t, db)
	k := liveKey("key_1")
	refuse := func(at time.Time, n int, status int, a amp.Admission) {
		for range n {
			m.Record(amp.RequestEvent{KeyID: k.ID, AccountID: k.AccountID, Mode: k.Mode, Route: ctxRoute,
				Status: status, ClientIP: "8.8.8.8", At: at, Admission: a})
		}
	}
	send(t, m, k, now.Add(-3*time.Minute), 10, 200, "8.8.8.8")
	refuse(now.Add(-3*time.Minute), 70, 429, amp.AdmissionRateLimited)
	refuse(now.Add(-2*time.Minute), 3, 429, amp.AdmissionQuotaExceeded)
	refuse(now.Add(-time.Minute), 2, 401, amp.AdmissionAuthFailed)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := monitor.KeyReport(t.Context(), db, k, now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 85 || r.RateLimited != 70 || r.QuotaExceeded != 3 || r.AuthFailed != 2 || r.ClientErrors != 75 {
		t.Errorf("totals: %d requests, refused %+v, %d 4xx; want 85, 70/3/2, 75", r.Requests, r.Refusals, r.ClientErrors)
	}
	if p := r.Series[7]; p.Requests != 80 || p.RateLimited != 70 || p.Refusals.Total() != 70 {
		t.Errorf("point at -3m = %+v, want 80 requests, 70 rate-limited", p)
	}
	f := r.Flags
	if !f.SuspectedLeak || f.Refused == nil || f.Refused.AuthFailed != 2 || f.Refused.RateLimited != 70 {
		t.Fatalf("flags = %+v, want a suspected leak for the refusals", f)
	}
	if len(f.Reasons) != 2 || !strings.Contains(f.Reasons[0], "revoked, quarantined or expired") || !strings.Contains(f.Reasons[1], "73 requests refused") {
		t.Errorf("reasons = %q", f.Reasons)
	}
}
