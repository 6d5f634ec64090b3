package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bucket names one token bucket and its rate. Its capacity (burst) is one
// second's worth: Rate tokens.
type Bucket struct {
	Key  string
	Rate int // tokens per second; > 0
}

// Result is the state of a set of buckets after Take or Peek.
type Result struct {
	// Allowed reports whether Take took a token from every bucket.
	Allowed bool
	// Denied is the index of the first bucket that had no token, or -1.
	Denied int
	// Remaining is the number of whole tokens left in the emptiest bucket.
	Remaining int
	// Reset is how long until every bucket again holds the smallest
	// capacity among them: until the burst is whole again.
	Reset time.Duration
	// RetryAfter, when Allowed is false, is how long until every bucket
	// holds a token again.
	RetryAfter time.Duration
}

// Buckets are keyed token buckets: the mechanics behind the Limiter's
// policy. Implementations must be safe for concurrent use, create a bucket
// full at its first use, and apply a changed Rate to an existing bucket.
type Buckets interface {
	// Take takes one token from every bucket of bs at now, or from none if
	// any of them has less than one: the check and the take are atomic.
	Take(ctx context.Context, now time.Time, bs []Bucket) (Result, error)
	// Peek reports the state of bs at now without taking anything.
	Peek(ctx context.Context, now time.Time, bs []Bucket) (Result, error)
}

// Memory is Buckets in this process's memory. Its size is bounded: a bucket
// that has refilled completely is equivalent to a new one, so Sweep (and
// any insertion into a full shard) forgets such buckets; if a shard is
// still full of partly used buckets, its least recently used are forgotten,
// which only ever lets a key be admitted sooner.
type Memory struct {
	seed     maphash.Seed
	shards   [memoryShards]memoryShard
	maxShard int
}

// memoryShards spreads unrelated keys over independent locks.
const memoryShards = 32

type memoryShard struct {
	mu sync.Mutex
	m  map[string]*memoryBucket
}

type memoryBucket struct {
	lim  *rate.Limiter
	rate int
	// last is the latest time the bucket was used at. Requests that read
	// the clock just before one another can reach the bucket out of order;
	// clamping them to last keeps the bucket's time monotonic, which
	// rate.Limiter needs to not count the same interval twice.
	last time.Time
}

// DefaultMaxBuckets bounds a Memory made with a non-positive max.
const DefaultMaxBuckets = 100_000

// NewMemory returns an empty Memory that keeps about max buckets at most.
func NewMemory(max int) *Memory {
	if max <= 0 {
		max = DefaultMaxBuckets
	}
	m := &Memory{seed: maphash.MakeSeed(), maxShard: max/memoryShards + 1}
	for i := range m.shards {
		m.shards[i].m = make(map[string]*memoryBucket)
	}
	return m
}

// Take implements Buckets.
func (m *Memory) Take(_ context.Context, now time.Time, bs []Bucket) (Result, error) {
	return m.do(now, bs, true), nil
}

// Peek implements Buckets.
func (m *Memory) Peek(_ context.Context, now time.Time, bs []Bucket) (Result, error) {
	return m.do(now, bs, false), nil
}

// maxBuckets is the most buckets one call may name; the Limiter uses two.
const maxBuckets = 4

func (m *Memory) do(now time.Time, bs []Bucket, take bool) Result {
	if len(bs) == 0 || len(bs) > maxBuckets {
		panic("ratelimit: Memory needs 1 to 4 buckets per call")
	}
	// Lock the shards involved in index order, so that two calls naming
	// the same shards cannot deadlock.
	var idx, locked [maxBuckets]int
	nlocked := 0
	for i, b := range bs {
		idx[i] = int(maphash.String(m.seed, b.Key) % memoryShards)
		if !slices.Contains(locked[:nlocked], idx[i]) {
			locked[nlocked] = idx[i]
			nlocked++
		}
	}
	slices.Sort(locked[:nlocked])
	for _, s := range locked[:nlocked] {
		m.shards[s].mu.Lock()
	}
	defer func() {
		for _, s := range locked[:nlocked] {
			m.shards[s].mu.Unlock()
		}
	}()

	var (
		buckets [maxBuckets]*memoryBucket
		tokens  [maxBuckets]float64
		at      [maxBuckets]time.Time
	)
	res := Result{Allowed: true, Denied: -1}
	for i, b := range bs {
		mb := m.shards[idx[i]].bucket(b, now, m.maxShard)
		buckets[i] = mb
		at[i] = now
		if now.Before(mb.last) {
			at[i] = mb.last
		}
		tokens[i] = mb.lim.TokensAt(at[i])
		if tokens[i] < 1 {
			if res.Allowed {
				res.Allowed, res.Denied = false, i
			}
			wait := durationFor(1-tokens[i], b.Rate)
			res.RetryAfter = max(res.RetryAfter, wait)
		}
	}
	if take && res.Allowed {
		for i := range bs {
			// The check above holds every shard lock, so this cannot fail.
			buckets[i].lim.AllowN(at[i], 1)
			buckets[i].last = at[i]
			tokens[i]--
		}
	}
	capacity := bs[0].Rate
	for _, b := range bs[1:] {
		capacity = min(capacity, b.Rate)
	}
	res.Remaining = math.MaxInt
	for i, b := range bs {
		res.Remaining = min(res.Remaining, max(0, int(math.Floor(tokens[i]))))
		if missing := float64(capacity) - tokens[i]; missing > 0 {
			res.Reset = max(res.Reset, durationFor(missing, b.Rate))
		}
	}
	return res
}

// durationFor is how long a bucket of rate r takes to gain tokens.
func durationFor(tokens float64, r int) time.Duration {
	return time.Duration(math.Ceil(tokens / float64(r) * float64(time.Second)))
}

// bucket returns the shard's bucket for b, creating it full or updating its
// rate. The shard's lock is held.
func (s *memoryShard) bucket(b Bucket, now time.Time, maxShard int) *memoryBucket {
	mb, ok := s.m[b.Key]
	if !ok {
		if len(s.m) >= maxShard {
			s.evict(now, maxShard)
		}
		mb = &memoryBucket{lim: rate.NewLimiter(rate.Limit(b.Rate), b.Rate), rate: b.Rate, last: now}
		s.m[b.Key] = mb
		return mb
	}
	if mb.rate != b.Rate {
		// A plan change or a new key limit applies at once; tokens above
		// the new capacity are dropped by the limiter's next refill.
		t := now
		if t.Before(mb.last) {
			t = mb.last
		}
		mb.lim.SetLimitAt(t, rate.Limit(b.Rate))
		mb.lim.SetBurstAt(t, b.Rate)
		mb.rate = b.Rate
	}
	return mb
}

// evict forgets the shard's full buckets and, if that is not enough, the
// least recently used tenth of the shard.
func (s *memoryShard) evict(now time.Time, maxShard int) {
	s.sweep(now)
	if len(s.m) < maxShard {
		return
	}
	type aged struct {
		key  string
		last time.Time
	}
	all := make([]aged, 0, len(s.m))
	for k, mb := range s.m {
		all = append(all, aged{k, mb.last})
	}
	slices.SortFunc(all, func(a, b aged) int { return a.last.Compare(b.last) })
	for _, a := range all[:len(all)/10+1] {
		delete(s.m, a.key)
	}
}

// sweep forgets the shard's full buckets. The shard's lock is held.
func (s *memoryShard) sweep(now time.Time) int {
	n := 0
	for k, mb := range s.m {
		t := now
		if t.Before(mb.last) {
			t = mb.last
		}
		if mb.lim.TokensAt(t) >= float64(mb.rate) {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// Sweep forgets every bucket that has refilled completely by now, and
// returns how many it forgot. The Limiter runs it periodically.
func (m *Memory) Sweep(now time.Time) int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweep(now)
		s.mu.Unlock()
	}
	return n
}

// Len returns the number of buckets held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
