package ratelimit_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/storetest"
)

// t0 is a fixed instant in the middle of a month.
var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func account(id string, plan amp.Plan) *amp.Account {
	return &amp.Account{ID: id, Name: id, Plan: plan, CreatedAt: t0}
}

func key(id string, a *amp.Account, mode amp.Mode, rateLimit int) *amp.APIKey {
	return &amp.APIKey{ID: id, AccountID: a.ID, Mode: mode, RateLimit: rateLimit, CreatedAt: t0}
}

func newLimiter(t testing.TB, store amp.QuotaStore) *ratelimit.Limiter {
	t.Helper()
	clock := func() time.Time { return t0 }
	l := ratelimit.New(ratelimit.Config{Store: store, Now: clock, Metrics: metrics.New()})
	return l
}

// drive sends requests of keys in turn, every interval over d from start,
// finishing each admitted one with status, and returns how many were
// admitted per key.
func drive(t *testing.T, l *ratelimit.Limiter, a *amp.Account, keys []*amp.APIKey, start time.Time, interval, d time.Duration) []int {
	t.Helper()
	ctx := context.Background()
	admitted := make([]int, len(keys))
	i := 0
	for at := start; at.Before(start.Add(d)); at = at.Add(interval) {
		k := keys[i%len(keys)]
		_, err := l.Admit(ctx, a, k, at)
		switch amp.ErrorCode(err) {
		case "":
			admitted[i%len(keys)]++
			l.Finish(ctx, a, k, 200, at)
		case amp.CodeRateLimitExceeded:
		default:
			t.Fatalf("Admit at %v: %v", at, err)
		}
		i++
	}
	return admitted
}

// within reports whether got is within 5% of want.
func within(got, want int) bool { return math.Abs(float64(got-want)) <= 0.05*float64(want) }

func TestRateHeldAtPlanLimit(t *testing.T) {
	for _, mode := range []amp.Mode{amp.ModeTest, amp.ModeLive} {
		t.Run(string(mode), func(t *testing.T) {
			l := newLimiter(t, storetest.NewQuotaStore())
			a := account("acct_1", amp.PlanStarter)
			k := key("key_1", a, mode, 0)
			// 100 req/s for 10 s against 10 req/s with a burst of 10: the
			// limit allows the burst plus 10 a second.
			got := drive(t, l, a, []*amp.APIKey{k}, t0, 10*time.Millisecond, 10*time.Second)[0]
			t.Logf("10 req/s key driven at 100 req/s for 10 s: %d of 1000 admitted", got)
			if want := 10 + 10*10; !within(got, want) {
				t.Fatalf("admitted %d of 1000, want %d ± 5%%", got, want)
			}
		})
	}
}

func TestKeysShareAccountRate(t *testing.T) {
	l := newLimiter(t, nil)
	a := account("acct_1", amp.PlanStarter)
	k1, k2 := key("key_1", a, amp.ModeTest, 0), key("key_2", a, amp.ModeTest, 0)
	got := drive(t, l, a, []*amp.APIKey{k1, k2}, t0, 7*time.Millisecond, 10*time.Second)
	t.Logf("two keys of a 10 req/s account, ~143 req/s together for 10 s: %d + %d admitted", got[0], got[1])
	if total := got[0] + got[1]; !within(total, 110) {
		t.Fatalf("two keys admitted %d+%d = %d, want the account's 110 ± 5%% together", got[0], got[1], total)
	}
	if got[0] < 40 || got[1] < 40 {
		t.Errorf("admitted %v: one key starved the other", got)
	}

	// The other mode and another account have buckets of their own.
	live := key("key_3", a, amp.ModeLive, 0)
	other := account("acct_2", amp.PlanStarter)
	for _, c := range []struct {
		a *amp.Account
		k *amp.APIKey
	}{{a, live}, {other, key("key_4", other, amp.ModeTest, 0)}} {
		if got := drive(t, l, c.a, []*amp.APIKey{c.k}, t0, 10*time.Millisecond, 10*time.Second)[0]; !within(got, 110) {
			t.Errorf("key %s admitted %d, want 110 ± 5%%", c.k.ID, got)
		}
	}
}

func TestKeyOwnLimitOnlyLowers(t *testing.T) {
	l := newLimiter(t, nil)
	a := account("acct_1", amp.PlanStarter)
	low := key("key_low", a, amp.ModeTest, 3)
	got := drive(t, l, a, []*amp.APIKey{low}, t0, 10*time.Millisecond, 10*time.Second)[0]
	t.Logf("key limited to 3 req/s on a 10 req/s plan, 100 req/s for 10 s: %d admitted", got)
	if !within(got, 3+3*10) {
		t.Fatalf("key limited to 3/s admitted %d, want 33 ± 5%%", got)
	}
	b := account("acct_2", amp.PlanStarter)
	high := key("key_high", b, amp.ModeTest, 50)
	if got := drive(t, l, b, []*amp.APIKey{high}, t0, 10*time.Millisecond, 10*time.Second)[0]; !within(got, 110) {
		t.Fatalf("key with 50/s on a 10/s plan admitted %d, want the plan's 110 ± 5%%", got)
	}
	st, err := l.Admit(context.Background(), b, high, t0.Add(time.Minute))
	if err != nil || st.Limit != 10 {
		t.Fatalf("Admit = %+v, %v; want limit 10", st, err)
	}
}

func TestEnterpriseCustomRate(t *testing.T) {
	l := newLimiter(t, nil)
	a := account("acct_1", amp.PlanEnterprise)
	a.CustomRate = 20
	k := key("key_1", a, amp.ModeLive, 0)
	if got := drive(t, l, a, []*amp.APIKey{k}, t0, 5*time.Millisecond, 10*time.Second)[0]; !within(got, 20+20*10) {
		t.Fatalf("admitted %d, want 220 ± 5%%", got)
	}
}

func TestRefusedByKeyKeepsAccountTokens(t *testing.T) {
	l := newLimiter(t, nil)
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	limited := key("key_limited", a, amp.ModeTest, 2)
	free := key("key_free", a, amp.ModeTest, 0)
	n := 0
	for range 10 {
		if _, err := l.Admit(ctx, a, limited, t0); err == nil {
			n++
		} else if amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Fatalf("key limited to 2/s admitted %d at once, want 2", n)
	}
	// Its 8 refusals took nothing from the account: 10-2 tokens are left.
	n = 0
	for range 10 {
		if _, err := l.Admit(ctx, a, free, t0); err == nil {
			n++
		}
	}
	if n != 8 {
		t.Fatalf("other key admitted %d after the refusals, want 8", n)
	}
}

func TestRateErrorAndState(t *testing.T) {
	l := newLimiter(t, nil)
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeTest, 0)
	st, err := l.Admit(ctx, a, k, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (amp.RateState{Limit: 10, Remaining: 9, Reset: 100 * time.Millisecond}); st != want {
		t.Fatalf("state after one request = %+v, want %+v", st, want)
	}
	for range 9 {
		if _, err := l.Admit(ctx, a, k, t0); err != nil {
			t.Fatal(err)
		}
	}
	st, err = l.Admit(ctx, a, k, t0)
	if amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
		t.Fatalf("11th request: err = %v, want RATE_LIMIT_EXCEEDED", err)
	}
	if want := (amp.RateState{Limit: 10, Remaining: 0, Reset: time.Second}); st != want {
		t.Fatalf("refused state = %+v, want %+v", st, want)
	}
	d := amp.ErrorDetails(err)
	if d["limit"] != 10 || d["window"] != "1s" || d["retryAfter"] != 1 {
		t.Fatalf("details = %v, want limit 10, window 1s, retryAfter 1", d)
	}

	// A key limited to 1 request a second waits a whole second.
	slow := key("key_slow", account("acct_2", amp.PlanPro), amp.ModeTest, 1)
	pro := account("acct_2", amp.PlanPro)
	if _, err := l.Admit(ctx, pro, slow, t0); err != nil {
		t.Fatal(err)
	}
	_, err = l.Admit(ctx, pro, slow, t0.Add(100*time.Millisecond))
	if d := amp.ErrorDetails(err); d["retryAfter"] != 1 || d["limit"] != 1 {
		t.Fatalf("details = %v, want limit 1, retryAfter 1", d)
	}
	if msg := amp.ErrorMessage(err); msg == "" || !containsAll(msg, "this API key", "1 requests per second") {
		t.Errorf("message %q does not name the key's limit", msg)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestPlanChangeAppliesAtOnce(t *testing.T) {
	l := newLimiter(t, nil)
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeTest, 0)
	if got := drive(t, l, a, []*amp.APIKey{k}, t0, 10*time.Millisecond, 5*time.Second)[0]; !within(got, 10+50) {
		t.Fatalf("starter admitted %d, want 60 ± 5%%", got)
	}
	a.Plan = amp.PlanPro
	// 200 req/s for 5 s against 100 req/s: the bucket, empty at the
	// change, refills at the new rate up to the new burst.
	if got := drive(t, l, a, []*amp.APIKey{k}, t0.Add(5*time.Second), 5*time.Millisecond, 5*time.Second)[0]; !within(got, 500) {
		t.Fatalf("pro admitted %d, want 500 ± 5%%", got)
	}
}

// useQuota admits and finishes n live requests 100 ms apart from start,
// each with status, and fails on any refusal.
func useQuota(t *testing.T, l *ratelimit.Limiter, a *amp.Account, k *amp.APIKey, start time.Time, n, status int) time.Time {
	t.Helper()
	ctx := context.Background()
	at := start
	for i := range n {
		if _, err := l.Admit(ctx, a, k, at); err != nil {
			t.Fatalf("request %d at %v: %v", i+1, at, err)
		}
		l.Finish(ctx, a, k, status, at)
		at = at.Add(100 * time.Millisecond)
	}
	return at
}

func TestQuotaExactlyN(t *testing.T) {
	store := storetest.NewQuotaStore()
	l := newLimiter(t, store)
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	live := key("key_live", a, amp.ModeLive, 0)
	test := key("key_test", a, amp.ModeTest, 0)
	quota := int(amp.PlanStarter.MonthlyQuota())

	// Failed requests give their unit back.
	at := useQuota(t, l, a, live, t0, 10, 500)
	at = useQuota(t, l, a, live, at, 3, 404)
	at = useQuota(t, l, a, live, at, quota, 200)

	st, err := l.Admit(ctx, a, live, at)
	if amp.ErrorCode(err) != amp.CodeQuotaExceeded {
		t.Fatalf("request %d: err = %v, want QUOTA_EXCEEDED", quota+1, err)
	}
	l.Finish(ctx, a, live, 429, at) // harmless for a refused request
	d := amp.ErrorDetails(err)
	if d["limit"] != int64(quota) || d["period"] != "month" || d["resetsAt"] != "2026-04-01T00:00:00Z" {
		t.Fatalf("details = %v, want limit %d, period month, resetsAt 2026-04-01T00:00:00Z", d, quota)
	}
	if st.Limit != 10 || st.Remaining != 10 {
		t.Fatalf("state of the refused request = %+v, want the untouched bucket (limit 10, remaining 10)", st)
	}
	// The refusal took no rate tokens: the whole burst is still there.
	if _, err := l.Admit(ctx, a, test, at); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.Admit(ctx, a, live, at); st.Remaining != 10 {
		t.Fatalf("live bucket after two quota refusals: remaining %d, want 10", st.Remaining)
	}

	// Test mode is never counted and never refused for the quota.
	useQuota(t, l, a, test, at.Add(time.Second), 50, 200)
	q, err := l.QuotaUsage(ctx, a, at)
	if err != nil {
		t.Fatal(err)
	}
	if q.Used != int64(quota) || q.InFlight != 0 || q.Limit != int64(quota) {
		t.Fatalf("usage = %+v, want %d used, none in flight", q, quota)
	}

	// The next month starts afresh.
	next := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	if _, err := l.Admit(ctx, a, live, next.Add(-time.Nanosecond)); amp.ErrorCode(err) != amp.CodeQuotaExceeded {
		t.Fatalf("last instant of the month: err = %v, want QUOTA_EXCEEDED", err)
	}
	if _, err := l.Admit(ctx, a, live, next); err != nil {
		t.Fatalf("first instant of the next month: %v", err)
	}
	l.Finish(ctx, a, live, 200, next)

	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.Count(a.ID, amp.MonthStart(t0)); got != int64(quota) {
		t.Errorf("stored March count = %d, want %d", got, quota)
	}
	if got := store.Count(a.ID, next); got != 1 {
		t.Errorf("stored April count = %d, want 1", got)
	}
}

func TestQuotaReservesInFlight(t *testing.T) {
	store := storetest.NewQuotaStore()
	a := account("acct_1", amp.PlanPro)
	month := amp.MonthStart(t0)
	quota := amp.PlanPro.MonthlyQuota()
	if err := store.AddQuotaUsage(context.Background(), []amp.QuotaDelta{{AccountID: a.ID, Month: month, Delta: quota - 3}}); err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, store)
	ctx := context.Background()
	k := key("key_1", a, amp.ModeLive, 0)
	for i := range 3 {
		if _, err := l.Admit(ctx, a, k, t0); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	// Three requests in flight hold the last three units.
	if _, err := l.Admit(ctx, a, k, t0); amp.ErrorCode(err) != amp.CodeQuotaExceeded {
		t.Fatalf("4th request with 3 in flight: err = %v, want QUOTA_EXCEEDED", err)
	}
	l.Finish(ctx, a, k, 503, t0)
	if _, err := l.Admit(ctx, a, k, t0); err != nil {
		t.Fatalf("after a failed request released its unit: %v", err)
	}
	l.Finish(ctx, a, k, 200, t0)
	l.Finish(ctx, a, k, 201, t0)
	l.Finish(ctx, a, k, 200, t0)
	if _, err := l.Admit(ctx, a, k, t0); amp.ErrorCode(err) != amp.CodeQuotaExceeded {
		t.Fatalf("after 3 successes: err = %v, want QUOTA_EXCEEDED", err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.Count(a.ID, month); got != quota {
		t.Fatalf("stored count = %d, want %d", got, quota)
	}
}

func TestRateLimitedRequestCostsNoQuota(t *testing.T) {
	l := newLimiter(t, storetest.NewQuotaStore())
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeLive, 0)
	admitted := 0
	for range 30 {
		_, err := l.Admit(ctx, a, k, t0)
		if err == nil {
			admitted++
			l.Finish(ctx, a, k, 200, t0)
			continue
		}
		if amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
			t.Fatal(err)
		}
		l.Finish(ctx, a, k, 429, t0)
	}
	q, err := l.QuotaUsage(ctx, a, t0)
	if err != nil {
		t.Fatal(err)
	}
	if q.Used != int64(admitted) || q.InFlight != 0 {
		t.Fatalf("usage = %+v after %d admitted of 30, want %d used, none in flight", q, admitted, admitted)
	}
}

func TestQuotaSurvivesRestart(t *testing.T) {
	store := storetest.NewQuotaStore()
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeLive, 0)
	month := amp.MonthStart(t0)
	quota := amp.PlanStarter.MonthlyQuota()
	if err := store.AddQuotaUsage(ctx, []amp.QuotaDelta{{AccountID: a.ID, Month: month, Delta: quota - 10}}); err != nil {
		t.Fatal(err)
	}

	l1 := newLimiter(t, store)
	at := useQuota(t, l1, a, k, t0, 4, 200)
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := newLimiter(t, store)
	at = useQuota(t, l2, a, k, at, 6, 200)
	if _, err := l2.Admit(ctx, a, k, at); amp.ErrorCode(err) != amp.CodeQuotaExceeded {
		t.Fatalf("after the quota was used across a restart: err = %v, want QUOTA_EXCEEDED", err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := store.Count(a.ID, month); got != quota {
		t.Fatalf("stored count = %d, want %d", got, quota)
	}
}

func TestQuotaFlushFailureKeepsCounts(t *testing.T) {
	store := storetest.NewQuotaStore()
	l := newLimiter(t, store)
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeLive, 0)
	at := useQuota(t, l, a, k, t0, 5, 200)

	store.SetFail(amp.ErrUnavailable)
	if err := l.Flush(ctx); !errors.Is(err, amp.ErrUnavailable) {
		t.Fatalf("Flush with the store down: err = %v, want ErrUnavailable", err)
	}
	useQuota(t, l, a, k, at, 2, 200) // counting goes on in memory

	store.SetFail(nil)
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.Count(a.ID, amp.MonthStart(t0)); got != 7 {
		t.Fatalf("stored count = %d, want 7", got)
	}
}

func TestQuotaLoadFailure(t *testing.T) {
	store := storetest.NewQuotaStore()
	store.SetFail(amp.ErrUnavailable)
	l := newLimiter(t, store)
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	_, err := l.Admit(ctx, a, key("key_1", a, amp.ModeLive, 0), t0)
	if !errors.Is(err, amp.ErrUnavailable) || amp.ErrorCode(err) != amp.CodeServiceUnavailable {
		t.Fatalf("err = %v, want one wrapping ErrUnavailable", err)
	}
	// Test mode needs no count.
	if _, err := l.Admit(ctx, a, key("key_2", a, amp.ModeTest, 0), t0); err != nil {
		t.Fatal(err)
	}
	store.SetFail(nil)
	if _, err := l.Admit(ctx, a, key("key_1", a, amp.ModeLive, 0), t0); err != nil {
		t.Fatalf("once the store is back: %v", err)
	}
}

func TestQuotaAcrossMonthEnd(t *testing.T) {
	store := storetest.NewQuotaStore()
	l := newLimiter(t, store)
	ctx := context.Background()
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeLive, 0)
	end := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	// Admitted in March, answered in April: it counts in April.
	if _, err := l.Admit(ctx, a, k, end.Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	l.Finish(ctx, a, k, 200, end.Add(time.Millisecond))
	q, err := l.QuotaUsage(ctx, a, end.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if q.Used != 1 || q.InFlight != 0 || !q.ResetsAt.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("April usage = %+v, want 1 used, resetting on May 1", q)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.Count(a.ID, end); got != 1 {
		t.Fatalf("stored April count = %d, want 1", got)
	}
	if got := store.Count(a.ID, amp.MonthStart(t0)); got != 0 {
		t.Fatalf("stored March count = %d, want 0", got)
	}
}

func TestQuotaExactUnderConcurrency(t *testing.T) {
	store := storetest.NewQuotaStore()
	a := account("acct_1", amp.PlanPro)
	month := amp.MonthStart(t0)
	quota := amp.PlanPro.MonthlyQuota()
	const left = 50
	if err := store.AddQuotaUsage(context.Background(), []amp.QuotaDelta{{AccountID: a.ID, Month: month, Delta: quota - left}}); err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, store)
	ctx := context.Background()
	keys := []*amp.APIKey{key("key_1", a, amp.ModeLive, 0), key("key_2", a, amp.ModeLive, 0)}
	var (
		tick      atomic.Int64
		successes atomic.Int64
		wg        sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 40 {
				// 100 ms apart: the 100/s rate never refuses.
				at := t0.Add(time.Duration(tick.Add(1)) * 100 * time.Millisecond)
				k := keys[r.IntN(len(keys))]
				_, err := l.Admit(ctx, a, k, at)
				if err != nil {
					if amp.ErrorCode(err) != amp.CodeQuotaExceeded {
						t.Error(err)
					}
					continue
				}
				status := 200
				if r.IntN(3) == 0 {
					status = 500
				}
				if status == 200 {
					successes.Add(1)
				}
				l.Finish(ctx, a, k, status, at)
				if r.IntN(10) == 0 {
					if err := l.Flush(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if got := successes.Load(); got != left {
		t.Fatalf("%d requests succeeded, want exactly the %d left", got, left)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := store.Count(a.ID, month); got != quota {
		t.Fatalf("stored count = %d, want %d", got, quota)
	}
}

func TestStartClose(t *testing.T) {
	store := storetest.NewQuotaStore()
	l := ratelimit.New(ratelimit.Config{Store: store, FlushInterval: time.Millisecond, Metrics: metrics.New()})
	l.Start()
	a := account("acct_1", amp.PlanStarter)
	k := key("key_1", a, amp.ModeLive, 0)
	useQuota(t, l, a, k, time.Now(), 3, 200)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := store.Count(a.ID, amp.MonthStart(time.Now())); got != 3 {
		t.Fatalf("stored count after Close = %d, want 3", got)
	}
}

func BenchmarkAdmit(b *testing.B) {
	for _, c := range []struct {
		name string
		mode amp.Mode
		own  int
	}{
		{"test", amp.ModeTest, 0},
		{"test-keylimit", amp.ModeTest, 1 << 30},
		{"live", amp.ModeLive, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := ratelimit.New(ratelimit.Config{Store: storetest.NewQuotaStore(), Metrics: metrics.New()})
			ctx := context.Background()
			// An enterprise account fast enough never to refuse, so that the
			// benchmark measures the admitting path; 64 accounts of 4 keys.
			var pairs []struct {
				a *amp.Account
				k *amp.APIKey
			}
			for i := range 64 {
				a := account("acct_"+string(rune('A'+i)), amp.PlanEnterprise)
				a.CustomRate = 1 << 31
				for j := range 4 {
					own := c.own
					if own > 0 {
						own = a.CustomRate - 1
					}
					pairs = append(pairs, struct {
						a *amp.Account
						k *amp.APIKey
					}{a, key(a.ID+"_"+string(rune('a'+j)), a, c.mode, own)})
				}
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1))
				for pb.Next() {
					p := pairs[i%len(pairs)]
					i++
					now := time.Now()
					if _, err := l.Admit(ctx, p.a, p.k, now); err != nil {
						b.Error(err)
						return
					}
					l.Finish(ctx, p.a, p.k, 200, now)
				}
			})
		})
	}
}
