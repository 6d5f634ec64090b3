package redis_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/redis"
	"github.com/amp-protocol/amp/internal/testclock"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newBuckets(t *testing.T, opts ...redis.Option) (*redis.Buckets, string) {
	t.Helper()
	url := redisURL(t)
	prefix := testPrefix(t, url)
	return redis.NewBuckets(open(t, url, prefix, opts...)), prefix
}

func take(t *testing.T, b ratelimit.Buckets, now time.Time, bs ...ratelimit.Bucket) ratelimit.Result {
	t.Helper()
	res, err := b.Take(context.Background(), now, bs)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	return res
}

func peek(t *testing.T, b ratelimit.Buckets, now time.Time, bs ...ratelimit.Bucket) ratelimit.Result {
	t.Helper()
	res, err := b.Peek(context.Background(), now, bs)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return res
}

func TestBucketsBurstThenRefill(t *testing.T) {
	b, _ := newBuckets(t)
	acct := ratelimit.Bucket{Key: "acct/a/live", Rate: 10}
	for i := range 10 {
		res := take(t, b, t0, acct)
		if !res.Allowed || res.Remaining != 9-i {
			t.Fatalf("take %d: got %+v, want allowed with %d remaining", i+1, res, 9-i)
		}
		if want := time.Duration(i+1) * 100 * time.Millisecond; res.Reset != want {
			t.Fatalf("take %d: got reset %s, want %s", i+1, res.Reset, want)
		}
	}
	res := take(t, b, t0, acct)
	if res.Allowed || res.Denied != 0 || res.Remaining != 0 {
		t.Fatalf("11th take: got %+v, want refused by bucket 0 with 0 remaining", res)
	}
	if res.RetryAfter != 100*time.Millisecond || res.Reset != time.Second {
		t.Fatalf("11th take: got retry %s reset %s, want 100ms and 1s", res.RetryAfter, res.Reset)
	}
	// A refused take changed nothing: a tenth of a second later exactly one
	// token is back.
	if res := take(t, b, t0.Add(100*time.Millisecond), acct); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after 100ms: got %+v, want allowed with 0 remaining", res)
	}
	if res := take(t, b, t0.Add(100*time.Millisecond), acct); res.Allowed {
		t.Fatalf("second take after 100ms: got %+v, want refused", res)
	}
	// Half a second refills half the bucket; it never exceeds its capacity.
	if res := peek(t, b, t0.Add(600*time.Millisecond), acct); res.Remaining != 5 {
		t.Fatalf("after 600ms: got %d remaining, want 5", res.Remaining)
	}
	if res := peek(t, b, t0.Add(time.Hour), acct); res.Remaining != 10 || res.Reset != 0 {
		t.Fatalf("an hour later: got %+v, want 10 remaining and no reset", res)
	}
}

// A request refused by its key's bucket takes nothing from its account's:
// the check and the take are atomic over both.
func TestBucketsAllOrNothing(t *testing.T) {
	b, _ := newBuckets(t)
	acct := ratelimit.Bucket{Key: "acct/a/live", Rate: 10}
	key := ratelimit.Bucket{Key: "key/k1", Rate: 2}
	for i := range 2 {
		if res := take(t, b, t0, acct, key); !res.Allowed {
			t.Fatalf("take %d: refused: %+v", i+1, res)
		}
	}
	res := take(t, b, t0, acct, key)
	if res.Allowed || res.Denied != 1 {
		t.Fatalf("third take: got %+v, want refused by bucket 1 (the key's)", res)
	}
	if res.RetryAfter != 500*time.Millisecond {
		t.Fatalf("third take: got retry %s, want 500ms", res.RetryAfter)
	}
	// The account still has 8 tokens for its other keys.
	if res := peek(t, b, t0, acct); res.Remaining != 8 {
		t.Fatalf("account after a refusal by the key: got %d remaining, want 8", res.Remaining)
	}
	other := ratelimit.Bucket{Key: "key/k2", Rate: 100}
	for i := range 8 {
		if res := take(t, b, t0, acct, other); !res.Allowed {
			t.Fatalf("other key, take %d: refused: %+v", i+1, res)
		}
	}
	if res := take(t, b, t0, acct, other); res.Allowed || res.Denied != 0 {
		t.Fatalf("other key, 9th take: got %+v, want refused by the account's bucket", res)
	}
	// The key's bucket was not touched by the refusal above either.
	if res := peek(t, b, t0, other); res.Remaining != 92 {
		t.Fatalf("other key's bucket: got %d remaining, want 92", res.Remaining)
	}
}

func TestBucketsClampTimeGoingBack(t *testing.T) {
	b, _ := newBuckets(t)
	bk := ratelimit.Bucket{Key: "acct/a/test", Rate: 2}
	take(t, b, t0.Add(time.Second), bk)
	take(t, b, t0.Add(time.Second), bk)
	// A caller whose clock is behind sees the bucket as of its last use,
	// not earlier (which would be emptier) nor refilled.
	if res := take(t, b, t0, bk); res.Allowed {
		t.Fatalf("take from the past: got %+v, want refused", res)
	}
	if res := take(t, b, t0.Add(1500*time.Millisecond+time.Microsecond), bk); !res.Allowed {
		t.Fatalf("take 500ms after the last: got %+v, want allowed", res)
	}
}

func TestBucketsRateChangeAppliesAtOnce(t *testing.T) {
	b, _ := newBuckets(t)
	bk := ratelimit.Bucket{Key: "acct/a/live", Rate: 100}
	take(t, b, t0, bk)
	// Lowered to 10: the 99 tokens left are capped at the new capacity.
	low := ratelimit.Bucket{Key: bk.Key, Rate: 10}
	for i := range 10 {
		if res := take(t, b, t0, low); !res.Allowed {
			t.Fatalf("take %d at the lowered rate: refused", i+1)
		}
	}
	if res := take(t, b, t0, low); res.Allowed {
		t.Fatalf("11th take at the lowered rate: got %+v, want refused", res)
	}
	// Raised to 1000: it refills at the new rate, 1 token per ms.
	high := ratelimit.Bucket{Key: bk.Key, Rate: 1000}
	peek(t, b, t0, high)
	if res := peek(t, b, t0.Add(50*time.Millisecond), high); res.Remaining != 50 {
		t.Fatalf("50ms after raising to 1000/s: got %d remaining, want 50", res.Remaining)
	}
}

func TestBucketsExpireWhenFull(t *testing.T) {
	b, prefix := newBuckets(t)
	rdb := rawClient(t, redisURL(t))
	bk := ratelimit.Bucket{Key: "acct/e/live", Rate: 4}
	take(t, b, t0, bk)
	take(t, b, t0, bk)
	ttl, err := rdb.PTTL(context.Background(), prefix+"rl:"+bk.Key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Two tokens at 4/s are back in 500ms: the key lives that long (plus
	// a millisecond of rounding), not forever.
	if ttl <= 0 || ttl > 501*time.Millisecond {
		t.Fatalf("got TTL %s, want in (0, 501ms]", ttl)
	}
	if n, _ := rdb.Exists(context.Background(), prefix+"rl:acct/e/test").Result(); n != 0 {
		t.Fatal("a bucket that was only peeked at was written")
	}
}

// Without WithCallerClock the script reads Redis's clock: the time the
// caller passes is ignored, so instances with skewed clocks agree.
func TestBucketsUseServerClock(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	c, err := redis.Open(url, redis.WithPrefix(prefix), redis.WithMetrics(metrics.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := redis.NewBuckets(c)
	rdb := rawClient(t, url)
	ctx := context.Background()
	before, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if res := take(t, b, long, ratelimit.Bucket{Key: "acct/s/live", Rate: 3}); !res.Allowed {
		t.Fatalf("got %+v, want allowed", res)
	}
	after, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := rdb.HGet(ctx, prefix+"rl:acct/s/live", "ts").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if got := time.UnixMicro(ts); got.Before(before.Truncate(time.Microsecond)) || got.After(after) {
		t.Fatalf("the bucket's time is %s, want Redis's clock, between %s and %s", got, before, after)
	}
}

// Two clients (as two instances) share one bucket: at one instant, exactly
// its capacity of concurrent takes succeed.
func TestBucketsSharedByInstances(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	a := redis.NewBuckets(open(t, url, prefix))
	b := redis.NewBuckets(open(t, url, prefix))
	bk := ratelimit.Bucket{Key: "acct/shared/live", Rate: 50}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		wg.Go(func() {
			for range 25 {
				res, err := inst.Take(context.Background(), t0, []ratelimit.Bucket{bk})
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Fatalf("200 concurrent takes from two instances: %d allowed, want exactly 50", got)
	}
}

// The Limiter's whole policy runs unchanged on Redis buckets.
func TestLimiterOnRedisBuckets(t *testing.T) {
	b, _ := newBuckets(t)
	l := ratelimit.New(ratelimit.Config{Buckets: b, Metrics: metrics.New()})
	acct, key := account("starter"), apiKey("test", 0)
	n := 0
	for {
		_, err := l.Admit(context.Background(), acct, key, t0)
		if err != nil {
			break
		}
		n++
		if n > 100 {
			t.Fatal("no limit")
		}
	}
	if n != 10 {
		t.Fatalf("starter plan: %d requests admitted in one instant, want 10", n)
	}
}

func TestBucketsRejectBadInput(t *testing.T) {
	b, _ := newBuckets(t)
	ctx := context.Background()
	if _, err := b.Take(ctx, t0, nil); err == nil {
		t.Error("no buckets: got nil error")
	}
	many := make([]ratelimit.Bucket, 5)
	for i := range many {
		many[i] = ratelimit.Bucket{Key: "k" + strconv.Itoa(i), Rate: 1}
	}
	if _, err := b.Take(ctx, t0, many); err == nil {
		t.Error("5 buckets: got nil error")
	}
	if _, err := b.Take(ctx, t0, []ratelimit.Bucket{{Key: "z", Rate: 0}}); err == nil {
		t.Error("rate 0: got nil error")
	}
}

// While Redis is unreachable, Take answers from in-process buckets with the
// full rate; after the retry interval one call probes Redis again, and
// once it answers the shared buckets are used again.
func TestBucketsFallBackWhileRedisIsDown(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	p := newProxy(t, url)
	clock := testclock.New(t0)
	m := metrics.New()
	c := open(t, p.url(url), prefix, redis.WithNow(clock.Now), redis.WithMetrics(m), redis.WithRetryInterval(time.Second))
	b := redis.NewBuckets(c)
	rdb := rawClient(t, url)
	ctx := context.Background()
	bk := ratelimit.Bucket{Key: "acct/f/live", Rate: 3}
	key := prefix + "rl:" + bk.Key

	if res := take(t, b, t0, bk); !res.Allowed || res.Remaining != 2 {
		t.Fatalf("through Redis: got %+v", res)
	}
	p.setCut(true)
	// Redis is gone: the fallback bucket is fresh and holds the full rate.
	for i := range 3 {
		if res := take(t, b, t0, bk); !res.Allowed {
			t.Fatalf("fallback take %d: refused: %+v", i+1, res)
		}
	}
	if res := take(t, b, t0, bk); res.Allowed {
		t.Fatalf("4th fallback take: got %+v, want refused by the local bucket", res)
	}
	if got := storeErrors(t, m, "redis_rate"); got != 1 {
		t.Fatalf("failed Redis calls counted: %v, want 1 (then no call until the retry interval)", got)
	}
	if tok, _ := rdb.HGet(ctx, key, "t").Float64(); tok != 2 {
		t.Fatalf("the Redis bucket changed during the outage: t = %v, want 2", tok)
	}

	p.setCut(false)
	// Within the retry interval Redis is not tried even though it is back.
	take(t, b, t0, bk)
	if tok, _ := rdb.HGet(ctx, key, "t").Float64(); tok != 2 {
		t.Fatalf("Redis was called within the retry interval: t = %v, want 2", tok)
	}
	clock.Advance(time.Second)
	if res := take(t, b, t0, bk); !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after the retry interval: got %+v, want the Redis bucket (1 remaining)", res)
	}
	if tok, _ := rdb.HGet(ctx, key, "t").Float64(); tok != 1 {
		t.Fatalf("the Redis bucket after recovery: t = %v, want 1", tok)
	}
}

// A caller whose context has ended gets its error, and Redis is not marked
// down for it.
func TestBucketsCancelledContextIsNotAnOutage(t *testing.T) {
	b, _ := newBuckets(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Take(ctx, t0, []ratelimit.Bucket{{Key: "acct/c/live", Rate: 1}}); err == nil {
		t.Fatal("cancelled context: got nil error")
	}
	if res := take(t, b, t0, ratelimit.Bucket{Key: "acct/c/live", Rate: 1}); !res.Allowed {
		t.Fatalf("after a cancelled call: got %+v, want allowed", res)
	}
	if res := take(t, b, t0, ratelimit.Bucket{Key: "acct/c/live", Rate: 1}); res.Allowed {
		t.Fatal("the second take was allowed: the call went to the fallback, not to Redis")
	}
}
