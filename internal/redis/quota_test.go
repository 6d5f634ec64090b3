package redis_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/redis"
	"github.com/amp-protocol/amp/internal/storetest"
	"github.com/amp-protocol/amp/internal/testclock"
)

var errBoom = errors.New("boom")

// seed stores n as the month's count of a fresh store.
func seed(t *testing.T, store *storetest.QuotaStore, id string, month time.Time, n int64) {
	t.Helper()
	if err := store.AddQuotaUsage(t.Context(), []amp.QuotaDelta{{AccountID: id, Month: month, Delta: n}}); err != nil {
		t.Fatal(err)
	}
}

func reserve(t *testing.T, q *redis.QuotaCounter, id string, limit int64, now time.Time) bool {
	t.Helper()
	ok, err := q.Reserve(context.Background(), id, limit, now)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return ok
}

func usage(t *testing.T, q *redis.QuotaCounter, id string, now time.Time) (int64, int64) {
	t.Helper()
	used, inFlight, err := q.Usage(context.Background(), id, now)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return used, inFlight
}

// Two instances share one quota: under concurrent requests on both,
// exactly the limit succeed, and the store receives every count.
func TestQuotaExactAcrossInstances(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	store := storetest.NewQuotaStore()
	qs := []*redis.QuotaCounter{
		redis.NewQuotaCounter(open(t, url, prefix), redis.QuotaCounterConfig{Store: store}),
		redis.NewQuotaCounter(open(t, url, prefix), redis.QuotaCounterConfig{Store: store}),
	}
	const limit = 50
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		q := qs[w%2]
		wg.Go(func() {
			for i := range 20 {
				admitted, err := q.Reserve(context.Background(), "acct_x", limit, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if !admitted {
					refused.Add(1)
					continue
				}
				// Every fifth admitted request fails and gives its unit back.
				success := i%5 != 4
				q.Finish(context.Background(), "acct_x", success, t0)
				if success {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != limit {
		t.Fatalf("%d requests succeeded (%d refused), want exactly %d", ok.Load(), refused.Load(), limit)
	}
	for i, q := range qs {
		if used, inFlight := usage(t, q, "acct_x", t0); used != limit || inFlight != 0 {
			t.Fatalf("instance %d sees %d used, %d in flight; want %d, 0", i, used, inFlight, limit)
		}
		if err := q.Flush(context.Background(), t0); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.Count("acct_x", amp.MonthStart(t0)); got != limit {
		t.Fatalf("the store has %d, want %d", got, limit)
	}
}

func TestQuotaReservationsHoldUnits(t *testing.T) {
	url := redisURL(t)
	q := redis.NewQuotaCounter(open(t, url, testPrefix(t, url)), redis.QuotaCounterConfig{})
	for range 2 {
		if !reserve(t, q, "a", 2, t0) {
			t.Fatal("the first two reservations were refused")
		}
	}
	if reserve(t, q, "a", 2, t0) {
		t.Fatal("a third reservation of 2 was admitted while two are in flight")
	}
	q.Release(context.Background(), "a", t0)
	if !reserve(t, q, "a", 2, t0) {
		t.Fatal("a released unit was not given back")
	}
	q.Finish(context.Background(), "a", false, t0)
	if !reserve(t, q, "a", 2, t0) {
		t.Fatal("a failed request's unit was not given back")
	}
	q.Finish(context.Background(), "a", true, t0)
	q.Finish(context.Background(), "a", true, t0)
	if used, inFlight := usage(t, q, "a", t0); used != 2 || inFlight != 0 {
		t.Fatalf("got %d used, %d in flight; want 2, 0", used, inFlight)
	}
	if reserve(t, q, "a", 2, t0) {
		t.Fatal("admitted past the quota")
	}
	// Unlimited (0) counts without refusing.
	if !reserve(t, q, "a", 0, t0) {
		t.Fatal("an unlimited account was refused")
	}
}

// A month's count starts from the store's (the durable record), and each
// month has its own.
func TestQuotaSeededFromStorePerMonth(t *testing.T) {
	url := redisURL(t)
	store := storetest.NewQuotaStore()
	seed(t, store, "a", amp.MonthStart(t0), 7)
	q := redis.NewQuotaCounter(open(t, url, testPrefix(t, url)), redis.QuotaCounterConfig{Store: store})
	n := 0
	for reserve(t, q, "a", 10, t0) {
		q.Finish(context.Background(), "a", true, t0)
		n++
	}
	if n != 3 {
		t.Fatalf("with 7 of 10 stored, %d more were admitted, want 3", n)
	}
	next := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if !reserve(t, q, "a", 10, next) {
		t.Fatal("the next month's quota is used up too")
	}
	if used, inFlight := usage(t, q, "a", next); used != 0 || inFlight != 1 {
		t.Fatalf("next month: got %d used, %d in flight; want 0, 1", used, inFlight)
	}
	// A request admitted in November and finished in December counts in
	// December, as in the in-memory counter.
	q.Finish(context.Background(), "a", true, next)
	if used, _ := usage(t, q, "a", next); used != 1 {
		t.Fatalf("December: got %d used, want 1", used)
	}
	if err := q.Flush(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if got := store.Count("a", amp.MonthStart(t0)); got != 10 {
		t.Fatalf("store, November: got %d, want 10", got)
	}
	if got := store.Count("a", next); got != 1 {
		t.Fatalf("store, December: got %d, want 1", got)
	}
}

// The reservations of an instance that died stop holding units after the
// reservation TTL.
func TestQuotaDeadInstanceReservationsExpire(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	dead := redis.NewQuotaCounter(open(t, url, prefix), redis.QuotaCounterConfig{ReservationTTL: time.Minute})
	live := redis.NewQuotaCounter(open(t, url, prefix), redis.QuotaCounterConfig{ReservationTTL: time.Minute})
	for range 2 {
		if !reserve(t, dead, "a", 2, t0) {
			t.Fatal("reservations refused")
		}
	}
	if reserve(t, live, "a", 2, t0.Add(59*time.Second)) {
		t.Fatal("admitted while the other instance holds every unit")
	}
	if !reserve(t, live, "a", 2, t0.Add(time.Minute+time.Microsecond)) {
		t.Fatal("the dead instance's reservations still hold units after their TTL")
	}
}

func TestQuotaStoreErrors(t *testing.T) {
	url := redisURL(t)
	store := storetest.NewQuotaStore()
	q := redis.NewQuotaCounter(open(t, url, testPrefix(t, url)), redis.QuotaCounterConfig{Store: store})
	store.SetFail(errBoom)
	if _, err := q.Reserve(context.Background(), "a", 10, t0); !errors.Is(err, errBoom) {
		t.Fatalf("Reserve with the store down and no count in Redis: got %v, want the store's error", err)
	}
	store.SetFail(nil)
	if !reserve(t, q, "a", 10, t0) {
		t.Fatal("refused")
	}
	q.Finish(context.Background(), "a", true, t0)
	store.SetFail(errBoom)
	if err := q.Flush(context.Background(), t0); !errors.Is(err, errBoom) {
		t.Fatalf("Flush: got %v, want the store's error", err)
	}
	store.SetFail(nil)
	if err := q.Flush(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if got := store.Count("a", t0); got != 1 {
		t.Fatalf("after a failed and a good flush the store has %d, want 1", got)
	}
}

// While Redis is unreachable an instance counts locally from the count it
// last saw; when Redis is back, Flush adds what it counted meanwhile, so
// the other instances see it.
func TestQuotaFallBackAndReconcile(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	p := newProxy(t, url)
	clock := testclock.New(t0)
	store := storetest.NewQuotaStore()
	m := metrics.New()
	a := redis.NewQuotaCounter(open(t, p.url(url), prefix, redis.WithNow(clock.Now), redis.WithMetrics(m)), redis.QuotaCounterConfig{Store: store})
	b := redis.NewQuotaCounter(open(t, url, prefix), redis.QuotaCounterConfig{Store: store})
	ctx := context.Background()
	const limit = 10
	for range 4 {
		if !reserve(t, a, "acct", limit, t0) {
			t.Fatal("refused")
		}
		a.Finish(ctx, "acct", true, t0)
	}
	p.setCut(true)
	n := 0
	for reserve(t, a, "acct", limit, t0) {
		a.Finish(ctx, "acct", true, t0)
		n++
		if n > limit {
			t.Fatal("no limit while Redis is down")
		}
	}
	if n != 6 {
		t.Fatalf("during the outage %d were admitted locally, want 6 (10 - the 4 Redis had counted)", n)
	}
	if storeErrors(t, m, "redis_quota") == 0 {
		t.Fatal("the failed Redis call was not counted")
	}
	if used, _ := usage(t, a, "acct", t0); used != limit {
		t.Fatalf("instance A's local view: %d used, want %d", used, limit)
	}
	if used, _ := usage(t, b, "acct", t0); used != 4 {
		t.Fatalf("instance B during the outage: %d used, want 4", used)
	}
	// Flushing while Redis is down still writes the store.
	if err := a.Flush(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if got := store.Count("acct", t0); got != limit {
		t.Fatalf("store after the outage: %d, want %d", got, limit)
	}

	p.setCut(false)
	clock.Advance(2 * time.Second)
	if err := a.Flush(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if used, _ := usage(t, b, "acct", t0); used != limit {
		t.Fatalf("instance B after reconciliation: %d used, want %d", used, limit)
	}
	if reserve(t, b, "acct", limit, t0) {
		t.Fatal("instance B admitted past the quota after reconciliation")
	}
	// Reconciled once, not again.
	if err := a.Flush(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if used, _ := usage(t, b, "acct", t0); used != limit {
		t.Fatalf("after a second flush: %d used, want %d", used, limit)
	}
}

// With Redis down from the start, an instance counts from the store.
func TestQuotaFallBackFromStore(t *testing.T) {
	url := redisURL(t)
	p := newProxy(t, url)
	p.setCut(true)
	store := storetest.NewQuotaStore()
	seed(t, store, "acct", amp.MonthStart(t0), 8)
	q := redis.NewQuotaCounter(open(t, p.url(url), testPrefix(t, url)), redis.QuotaCounterConfig{Store: store})
	for range 2 {
		if !reserve(t, q, "acct", 10, t0) {
			t.Fatal("refused below the stored count")
		}
	}
	if reserve(t, q, "acct", 10, t0) {
		t.Fatal("admitted past the quota with 8 stored and 2 in flight")
	}
	q.Release(context.Background(), "acct", t0)
	if !reserve(t, q, "acct", 10, t0) {
		t.Fatal("a released local reservation was not given back")
	}
}

// The Limiter's quota policy runs unchanged on the Redis counter, and two
// Limiters (two instances) share it.
func TestLimiterOnRedisQuota(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	store := storetest.NewQuotaStore()
	acct := account("pro")
	seed(t, store, acct.ID, amp.MonthStart(t0), acct.Plan.MonthlyQuota()-3)
	var ls []*ratelimit.Limiter
	for range 2 {
		c := open(t, url, prefix)
		ls = append(ls, ratelimit.New(ratelimit.Config{Buckets: redis.NewBuckets(c),
			QuotaCounter: redis.NewQuotaCounter(c, redis.QuotaCounterConfig{Store: store}), Metrics: metrics.New()}))
	}
	live := apiKey("live", 0)
	ctx := context.Background()
	for i := range 3 {
		l := ls[i%2]
		if _, err := l.Admit(ctx, acct, live, t0); err != nil {
			t.Fatalf("request %d of the 3 left: %v", i+1, err)
		}
		l.Finish(ctx, acct, live, 200, t0)
	}
	for i, l := range ls {
		_, err := l.Admit(ctx, acct, live, t0)
		var e *amp.Error
		if !errors.As(err, &e) || e.Code != amp.CodeQuotaExceeded {
			t.Fatalf("instance %d after the quota: got %v, want QUOTA_EXCEEDED", i, err)
		}
		q, err := l.QuotaUsage(ctx, acct, t0)
		if err != nil || q.Used != acct.Plan.MonthlyQuota() || q.InFlight != 0 {
			t.Fatalf("instance %d: usage %+v, %v; want the whole quota used, none in flight", i, q, err)
		}
	}
	for _, l := range ls {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.Count(acct.ID, t0); got != acct.Plan.MonthlyQuota() {
		t.Fatalf("the store has %d after Close, want %d", got, acct.Plan.MonthlyQuota())
	}
}
