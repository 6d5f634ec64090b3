package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/amp-protocol/amp/internal/ratelimit"
)

// bucketScript takes one token from every bucket of KEYS, or from none if
// any has less than one (ARGV[2] = "1"), or only reports their state
// (ARGV[2] = "0"). ARGV[1] is the time in µs since the epoch, or "" for
// Redis's clock; ARGV[2+i] is the rate of KEYS[i], in tokens per second,
// which is also its capacity (a burst of one second's worth).
//
// A bucket is a hash {t = tokens, ts = µs of t, r = rate of t}; a missing
// one is full. Time is clamped per bucket so that a caller whose clock is
// behind the last one's gains no tokens (and loses none). A changed rate
// applies from the first call that names it, take or not: the bucket
// refills at its old rate up to then, is capped at its old capacity, then
// at the new one.
//
// It returns {allowed (0|1), index of the first refusing bucket or -1,
// whole tokens left in the emptiest bucket, µs until every bucket holds the
// smallest capacity, µs until every refusing bucket holds a token}. Lua
// numbers become integer replies by truncation, so every returned value is
// made whole here.
var bucketScript = goredis.NewScript(luaNow + `
local take = ARGV[2] == '1'
local n = #KEYS
local tokens, rates, ats = {}, {}, {}
local allowed, denied, retry = 1, -1, 0
local capacity = nil
for i = 1, n do
	local r = tonumber(ARGV[2 + i])
	rates[i] = r
	if capacity == nil or r < capacity then capacity = r end
	local v = redis.call('HMGET', KEYS[i], 't', 'ts', 'r')
	local t, at = r, now
	if v[1] then
		local last, oldr = tonumber(v[2]), tonumber(v[3])
		t = tonumber(v[1])
		if now > last then
			t = t + (now - last) * oldr / 1000000
		else
			at = last
		end
		if t > oldr then t = oldr end
		if t > r then t = r end
		if oldr ~= r then
			-- Record the new rate from now on, even if nothing is taken.
			redis.call('HSET', KEYS[i], 't', t, 'ts', at, 'r', r)
			redis.call('PEXPIRE', KEYS[i], math.ceil((r - t) / r * 1000) + 1)
		end
	end
	tokens[i], ats[i] = t, at
	if t < 1 then
		if allowed == 1 then
			allowed, denied = 0, i - 1
		end
		local w = math.ceil((1 - t) / r * 1000000)
		if w > retry then retry = w end
	end
end
if take and allowed == 1 then
	for i = 1, n do
		local t = tokens[i] - 1
		tokens[i] = t
		redis.call('HSET', KEYS[i], 't', t, 'ts', ats[i], 'r', rates[i])
		-- A full bucket is the same as a missing one: let it go when full.
		redis.call('PEXPIRE', KEYS[i], math.ceil((rates[i] - t) / rates[i] * 1000) + 1)
	end
end
local remaining, reset = nil, 0
for i = 1, n do
	local whole = math.floor(tokens[i])
	if whole < 0 then whole = 0 end
	if remaining == nil or whole < remaining then remaining = whole end
	local missing = capacity - tokens[i]
	if missing > 0 then
		local d = math.ceil(missing / rates[i] * 1000000)
		if d > reset then reset = d end
	end
end
return {allowed, denied, remaining, reset, retry}
`)

// maxBuckets is the most buckets one call may name, as in ratelimit.Memory.
const maxBuckets = 4

// Buckets implements ratelimit.Buckets in Redis, shared by every instance
// using the same server and prefix, with in-process buckets as the fallback
// while Redis is unreachable (see the package documentation).
type Buckets struct {
	c     *Client
	local *ratelimit.Memory
}

var _ ratelimit.Buckets = (*Buckets)(nil)

// NewBuckets returns the rate buckets of c. Its fallback keeps at most
// ratelimit.DefaultMaxBuckets buckets.
func NewBuckets(c *Client) *Buckets {
	return &Buckets{c: c, local: ratelimit.NewMemory(0)}
}

// Take implements ratelimit.Buckets: the check and the take of all of bs
// are one atomic script on the Redis server.
func (b *Buckets) Take(ctx context.Context, now time.Time, bs []ratelimit.Bucket) (ratelimit.Result, error) {
	return b.do(ctx, now, bs, true)
}

// Peek implements ratelimit.Buckets.
func (b *Buckets) Peek(ctx context.Context, now time.Time, bs []ratelimit.Bucket) (ratelimit.Result, error) {
	return b.do(ctx, now, bs, false)
}

func (b *Buckets) do(ctx context.Context, now time.Time, bs []ratelimit.Bucket, take bool) (ratelimit.Result, error) {
	if len(bs) == 0 || len(bs) > maxBuckets {
		return ratelimit.Result{}, fmt.Errorf("redis: buckets: need 1 to %d buckets per call, got %d", maxBuckets, len(bs))
	}
	if !b.c.available() {
		return b.fallback(ctx, now, bs, take)
	}
	var keyArr [maxBuckets]string
	var argArr [2 + maxBuckets]any
	keys, args := keyArr[:0], argArr[:0]
	args = append(args, b.c.clockArg(now), "0")
	if take {
		args[1] = "1"
	}
	for _, bk := range bs {
		if bk.Rate <= 0 {
			return ratelimit.Result{}, fmt.Errorf("redis: buckets: bucket %q has rate %d, want > 0", bk.Key, bk.Rate)
		}
		keys = append(keys, b.c.key("rl", bk.Key))
		args = append(args, strconv.Itoa(bk.Rate))
	}
	vals, err := bucketScript.Run(ctx, b.c.rdb, keys, args...).Int64Slice()
	if b.c.result(ctx, "redis_rate", err) {
		return b.fallback(ctx, now, bs, take)
	}
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redis: buckets: %w", err)
	}
	if len(vals) != 5 {
		return ratelimit.Result{}, fmt.Errorf("redis: buckets: the script answered %d values, want 5", len(vals))
	}
	return ratelimit.Result{
		Allowed:    vals[0] == 1,
		Denied:     int(vals[1]),
		Remaining:  int(vals[2]),
		Reset:      time.Duration(vals[3]) * time.Microsecond,
		RetryAfter: time.Duration(vals[4]) * time.Microsecond,
	}, nil
}

// fallback answers from the in-process buckets while Redis is down.
func (b *Buckets) fallback(ctx context.Context, now time.Time, bs []ratelimit.Bucket, take bool) (ratelimit.Result, error) {
	if err := ctx.Err(); err != nil {
		return ratelimit.Result{}, err
	}
	if take {
		return b.local.Take(ctx, now, bs)
	}
	return b.local.Peek(ctx, now, bs)
}
