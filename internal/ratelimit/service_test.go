package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/meter"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/monitor"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// nopLearner makes the service constructible; these tests make no
// decisions.
type nopLearner struct{ amp.Learner }

// wired is the service as `amp serve` wires it, on SQLite, with the limiter
// and the meter, on a fake clock.
type wired struct {
	db      *sqlite.DB
	limiter *ratelimit.Limiter
	meter   *meter.Meter
	svc     *service.Service
	now     atomic.Pointer[time.Time]
}

func newWired(t *testing.T) *wired {
	t.Helper()
	ctx := context.Background()
	w := &wired{}
	w.now.Store(&t0)
	clock := func() time.Time { return *w.now.Load() }
	var err error
	w.db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"), sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.db.Close() })
	w.limiter = ratelimit.New(ratelimit.Config{Store: w.db, Now: clock, Metrics: metrics.New()})
	w.meter, err = meter.New(meter.Config{Store: w.db, Now: clock, Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	w.svc, err = service.New(service.Config{Store: w.db, Learner: nopLearner{}, Now: clock, Seed: 1,
		Limiter: w.limiter, Meter: w.meter, AuthFailuresPerMinute: 20})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *wired) set(at time.Time) { w.now.Store(&at) }

// request authenticates secret from ip, admits it and, if admitted,
// finishes it with status, as the HTTP layer does. It returns the error
// code of the refusal, if any.
func (w *wired) request(t *testing.T, secret, ip string, status int) string {
	t.Helper()
	ctx := context.Background()
	p, err := w.svc.Authenticate(ctx, secret, ip)
	if err != nil {
		return amp.ErrorCode(err)
	}
	if _, err := w.svc.Admit(ctx, p); err != nil {
		return amp.ErrorCode(err)
	}
	w.svc.Finish(ctx, p, amp.RequestEvent{KeyID: p.Key.ID, AccountID: p.Key.AccountID, Mode: p.Key.Mode,
		Route: "POST /v1/context", Status: status, ClientIP: ip, At: w.svc.Now()})
	return ""
}

func TestThroughService(t *testing.T) {
	ctx := context.Background()
	w := newWired(t)
	acct, err := w.svc.CreateAccount(ctx, "acme", amp.PlanStarter, 0)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(mode amp.Mode, rate int) string {
		k, err := w.svc.CreateKey(ctx, acct.ID, mode, service.KeyOptions{RateLimit: rate})
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	a, b, slow, test := mk(amp.ModeLive, 0), mk(amp.ModeLive, 0), mk(amp.ModeLive, 2), mk(amp.ModeTest, 0)

	// Two live keys at 100 req/s each for 2 s share the account's 10/s.
	admitted := map[string]int{}
	for i := range 400 {
		w.set(t0.Add(time.Duration(i) * 5 * time.Millisecond))
		k := []string{a, b}[i%2]
		switch code := w.request(t, k, "8.8.8.8", 200); code {
		case "":
			admitted[k]++
		case amp.CodeRateLimitExceeded:
		default:
			t.Fatalf("request %d: %s", i, code)
		}
	}
	if total := admitted[a] + admitted[b]; !within(total, 10+2*10) {
		t.Errorf("two keys admitted %d+%d, want the account's 30 ± 5%% together", admitted[a], admitted[b])
	}

	// A key with its own 2/s, later, alone: held to it.
	start := t0.Add(time.Minute)
	n := 0
	for i := range 1000 {
		w.set(start.Add(time.Duration(i) * 10 * time.Millisecond))
		if w.request(t, slow, "8.8.8.8", 200) == "" {
			n++
		}
	}
	if !within(n, 2+10*2) {
		t.Errorf("key limited to 2/s admitted %d in 10 s, want 22 ± 5%%", n)
	}

	// Failed authentications from one IP are limited: further failures
	// are refused, while a valid key, from that IP or another, is not, and
	// neither is a valid key's rate touched.
	w.set(t0.Add(3 * time.Minute))
	for i := range 20 {
		if code := w.request(t, "amp_sk_live_000000000000000000000000000000", "192.0.2.9", 200); code != amp.CodeUnauthorized {
			t.Fatalf("failed attempt %d: %s, want UNAUTHORIZED", i+1, code)
		}
	}
	if code := w.request(t, "amp_sk_live_000000000000000000000000000000", "192.0.2.9", 200); code != amp.CodeRateLimitExceeded {
		t.Fatalf("21st failed attempt from the IP: %q, want RATE_LIMIT_EXCEEDED", code)
	}
	if code := w.request(t, a, "192.0.2.9", 200); code != "" {
		t.Fatalf("valid key from the throttled IP: %q, want admitted", code)
	}
	if code := w.request(t, a, "198.51.100.4", 200); code != "" {
		t.Fatalf("valid key from another IP: %q, want admitted", code)
	}

	// The quota: 3 units left; failed requests give theirs back.
	if err := w.limiter.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	used, err := w.db.QuotaUsage(ctx, acct.ID, amp.MonthStart(t0))
	if err != nil {
		t.Fatal(err)
	}
	quota := amp.PlanStarter.MonthlyQuota()
	if err := w.db.AddQuotaUsage(ctx, []amp.QuotaDelta{{AccountID: acct.ID, Month: amp.MonthStart(t0), Delta: quota - 3 - used}}); err != nil {
		t.Fatal(err)
	}
	// A new limiter (a restart) loads the stored count.
	w.limiter = ratelimit.New(ratelimit.Config{Store: w.db, Metrics: metrics.New()})
	w.svc, err = service.New(service.Config{Store: w.db, Learner: nopLearner{}, Now: func() time.Time { return *w.now.Load() },
		Seed: 1, Limiter: w.limiter, Meter: w.meter})
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	step := func() { at = at.Add(time.Second); w.set(at) }
	for _, status := range []int{500, 200, 400, 200, 200} {
		step()
		if code := w.request(t, a, "8.8.8.8", status); code != "" {
			t.Fatalf("request with %d: %s", status, code)
		}
	}
	step()
	p, err := w.svc.Authenticate(ctx, a, "8.8.8.8")
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Admit(ctx, p)
	if amp.ErrorCode(err) != amp.CodeQuotaExceeded || amp.ErrorDetails(err)["resetsAt"] != "2026-04-01T00:00:00Z" {
		t.Fatalf("after the quota: %v (details %v), want QUOTA_EXCEEDED resetting 2026-04-01", err, amp.ErrorDetails(err))
	}
	if code := w.request(t, test, "8.8.8.8", 200); code != "" {
		t.Fatalf("test key after the live quota: %s", code)
	}

	// Every finished request was metered.
	if err := w.meter.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	keyA, err := w.db.KeyByHash(ctx, amp.HashKey(a))
	if err != nil {
		t.Fatal(err)
	}
	r, err := monitor.KeyReport(ctx, w.db, keyA, at, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The burst, the one from the throttled IP, the one from another IP,
	// the five before the quota.
	if want := int64(admitted[a] + 1 + 1 + 5); r.Requests != want || r.ServerErrors != 1 || r.ClientErrors != 1 {
		t.Errorf("metered %d requests of key a (%d 4xx, %d 5xx), want %d (1, 1)", r.Requests, r.ClientErrors, r.ServerErrors, want)
	}
	if err := w.meter.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.limiter.Close(); err != nil {
		t.Fatal(err)
	}
}
