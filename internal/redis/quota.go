package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/amp-protocol/amp"
)

// DefaultReservationTTL bounds how long a request in flight holds a unit of
// its account's quota: longer than any request may take (the server's
// write timeout is 30 s), so that only a dead instance's reservations
// expire.
const DefaultReservationTTL = 2 * time.Minute

// countRetention is how long a month's count outlives the month, for
// reads of last month's usage around the turn of a month.
const countRetention = 7 * 24 * time.Hour

// reserveScript reserves one unit of an account's quota. KEYS[1] is the
// month's count, KEYS[2] the account's reservations; ARGV: the time in µs
// ("" for Redis's clock), the limit (0 = unlimited), the reservation's id
// and its TTL in µs. It first drops expired reservations. It returns
// {status, count, reservations}: status 1 reserved, 0 refused (count +
// reservations >= limit), -1 the count is missing and must be seeded.
var reserveScript = goredis.NewScript(luaNow + `
local c = redis.call('GET', KEYS[1])
if not c then return {-1, 0, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local used = tonumber(c)
local inflight = redis.call('ZCARD', KEYS[2])
local limit = tonumber(ARGV[2])
if limit > 0 and used + inflight >= limit then return {0, used, inflight} end
local ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.ceil(ttl / 1000) + 1)
return {1, used, inflight + 1}
`)

// finishScript ends a reservation. KEYS[1] is the count of the month the
// request finished in, KEYS[2] the account's reservations; ARGV: the
// reservation's id ("" for none) and the number of 2xx requests to add.
// A missing count is not created: the next Reserve seeds it from the
// database, which the finished counts reach by Flush.
var finishScript = goredis.NewScript(`
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
local n = tonumber(ARGV[2])
if n > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
	redis.call('INCRBY', KEYS[1], n)
	return 1
end
return 0
`)

// usageScript returns {count or -1 if missing, reservations not expired}.
var usageScript = goredis.NewScript(luaNow + `
local c = redis.call('GET', KEYS[1])
local inflight = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
if not c then return {-1, inflight} end
return {tonumber(c), inflight}
`)

// QuotaCounterConfig configures a QuotaCounter.
type QuotaCounterConfig struct {
	// Store keeps the durable monthly counts; it seeds a month's count in
	// Redis and receives the counts this instance finished. When nil,
	// counts start at zero and are kept only in Redis.
	Store amp.QuotaStore
	// ReservationTTL is DefaultReservationTTL when zero.
	ReservationTTL time.Duration
}

// QuotaCounter counts accounts' live requests per UTC month in Redis, shared by
// every instance, with the reservation semantics of the in-memory counter
// of package ratelimit: Reserve holds a unit until Finish or Release, so
// that exactly the limit's number of requests succeed in a month. See the
// package documentation for its keys, its durability and its fallback
// while Redis is unreachable. Its methods are safe for concurrent use.
type QuotaCounter struct {
	c     *Client
	store amp.QuotaStore
	ttl   time.Duration
	// instance starts the ids of this instance's reservations.
	instance string
	seq      atomic.Uint64

	// io serialises the seeding of a count (a store read) with Flush (a
	// store write), so that a seed never counts a delta twice or misses
	// one on its way from pending to the store.
	io sync.Mutex
	mu sync.Mutex
	// accounts hold this instance's view of each account it served.
	accounts map[string]*quotaAccount
}

type quotaAccount struct {
	// held are the ids of the Redis reservations this instance holds, and
	// local the number of reservations made locally while Redis was down.
	// Finish ends a Redis reservation first: which one does not matter,
	// they are interchangeable.
	held  []string
	local int64
	// seen is the month count Redis last reported (count plus
	// reservations), the base of local counting while Redis is down;
	// seenMonth its month.
	seen      int64
	seenMonth time.Time
	// pending are the 2xx counts finished and not yet added to the store,
	// by month; unsynced those not yet added to Redis (finished while it
	// was down), by month.
	pending  map[time.Time]int64
	unsynced map[time.Time]int64
}

// NewQuotaCounter returns the quota counter of c.
func NewQuotaCounter(c *Client, cfg QuotaCounterConfig) *QuotaCounter {
	b := make([]byte, 8)
	rand.Read(b)
	q := &QuotaCounter{
		c:        c,
		store:    cfg.Store,
		ttl:      cfg.ReservationTTL,
		instance: hex.EncodeToString(b),
		accounts: make(map[string]*quotaAccount),
	}
	if q.ttl <= 0 {
		q.ttl = DefaultReservationTTL
	}
	return q
}

func (q *QuotaCounter) countKey(id string, month time.Time) string {
	// The hash tag keeps an account's keys on one node of a cluster.
	return q.c.key("quota", "{"+id+"}", month.Format("2006-01"))
}

func (q *QuotaCounter) reservationsKey(id string) string {
	return q.c.key("quota", "{"+id+"}", "reserved")
}

// account returns the account's entry; q.mu is held.
func (q *QuotaCounter) account(id string) *quotaAccount {
	a, ok := q.accounts[id]
	if !ok {
		a = &quotaAccount{pending: make(map[time.Time]int64), unsynced: make(map[time.Time]int64)}
		q.accounts[id] = a
	}
	return a
}

// Reserve reserves one unit of the account's quota for the month of now,
// unless limit (0 = unlimited) units are already counted or reserved. It
// returns an error only if the count must be loaded from the store and
// that fails.
func (q *QuotaCounter) Reserve(ctx context.Context, id string, limit int64, now time.Time) (bool, error) {
	month := amp.MonthStart(now)
	for attempt := 0; q.c.available() && attempt < 3; attempt++ {
		member := q.instance + ":" + strconv.FormatUint(q.seq.Add(1), 36)
		vals, err := reserveScript.Run(ctx, q.c.rdb,
			[]string{q.countKey(id, month), q.reservationsKey(id)},
			q.c.clockArg(now), limit, member, q.ttl.Microseconds()).Int64Slice()
		if q.c.result(ctx, "redis_quota", err) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("redis: reserve quota of account %s: %w", id, err)
		}
		switch vals[0] {
		case -1:
			if err := q.seed(ctx, id, month); err != nil {
				return false, err
			}
			continue
		case 0:
			q.see(id, month, vals[1]+vals[2])
			return false, nil
		}
		q.mu.Lock()
		a := q.account(id)
		a.held = append(a.held, member)
		a.seen, a.seenMonth = vals[1]+vals[2], month
		q.mu.Unlock()
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return q.reserveLocally(ctx, id, limit, month)
}

// see records what Redis reported of the account's month.
func (q *QuotaCounter) see(id string, month time.Time, n int64) {
	q.mu.Lock()
	a := q.account(id)
	a.seen, a.seenMonth = n, month
	q.mu.Unlock()
}

// reserveLocally is Reserve while Redis is down: against the count last
// seen in Redis (or the store's, if none was seen this month) plus what
// this instance finished since and holds in flight.
func (q *QuotaCounter) reserveLocally(ctx context.Context, id string, limit int64, month time.Time) (bool, error) {
	q.mu.Lock()
	a := q.account(id)
	known := a.seenMonth.Equal(month)
	q.mu.Unlock()
	if !known {
		base, err := q.storedCount(ctx, id, month)
		if err != nil {
			return false, err
		}
		q.mu.Lock()
		// Flush may have dropped the entry meanwhile: look it up again.
		a = q.account(id)
		if !a.seenMonth.Equal(month) {
			a.seen, a.seenMonth = base, month
			// Counts not yet in Redis are part of base already.
			a.unsynced[month] = 0
		}
		q.mu.Unlock()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	a = q.account(id)
	if limit > 0 && a.seen+a.unsynced[month]+a.local >= limit {
		return false, nil
	}
	a.local++
	return true, nil
}

// storedCount is the store's count of the month plus this instance's
// counts not yet written there.
func (q *QuotaCounter) storedCount(ctx context.Context, id string, month time.Time) (int64, error) {
	q.io.Lock()
	defer q.io.Unlock()
	var stored int64
	if q.store != nil {
		var err error
		if stored, err = q.store.QuotaUsage(ctx, id, month); err != nil {
			return 0, fmt.Errorf("redis: load quota count of account %s: %w", id, err)
		}
	}
	q.mu.Lock()
	stored += q.account(id).pending[month]
	q.mu.Unlock()
	return stored, nil
}

// seed creates the month's count in Redis from the store, unless another
// instance did meanwhile.
func (q *QuotaCounter) seed(ctx context.Context, id string, month time.Time) error {
	n, err := q.storedCount(ctx, id, month)
	if err != nil {
		return err
	}
	expire := month.AddDate(0, 1, 0).Add(countRetention)
	err = q.c.rdb.SetArgs(ctx, q.countKey(id, month), n, goredis.SetArgs{Mode: "NX", ExpireAt: expire}).Err()
	q.c.result(ctx, "redis_quota", err)
	// Counts not synced to Redis are in n now, or in the count another
	// instance seeded from the store after they were flushed there.
	q.mu.Lock()
	q.account(id).unsynced[month] = 0
	q.mu.Unlock()
	return nil
}

// Release gives back a reservation of a request refused after Reserve.
func (q *QuotaCounter) Release(ctx context.Context, id string, now time.Time) {
	q.end(ctx, id, false, now)
}

// Finish ends a reservation; a successful request is counted in the month
// of now.
func (q *QuotaCounter) Finish(ctx context.Context, id string, success bool, now time.Time) {
	q.end(ctx, id, success, now)
}

func (q *QuotaCounter) end(ctx context.Context, id string, success bool, now time.Time) {
	month := amp.MonthStart(now)
	q.mu.Lock()
	a := q.account(id)
	member := ""
	if n := len(a.held); n > 0 {
		member = a.held[n-1]
		a.held = a.held[:n-1]
	} else if a.local > 0 {
		a.local--
	}
	if success {
		a.pending[month]++
	}
	q.mu.Unlock()
	if member == "" && !success {
		return
	}
	// The request's own context may have ended (a client that went away):
	// its count must still reach Redis.
	ctx = context.WithoutCancel(ctx)
	if q.c.available() {
		var add int64
		if success {
			add = 1
		}
		err := finishScript.Run(ctx, q.c.rdb, []string{q.countKey(id, month), q.reservationsKey(id)}, member, add).Err()
		if !q.c.result(ctx, "redis_quota", err) && err == nil {
			return
		}
	}
	// Redis missed it: the reservation expires by itself, and the count
	// waits for the next Flush to reach Redis.
	if success {
		q.mu.Lock()
		q.account(id).unsynced[month]++
		q.mu.Unlock()
	}
}

// Usage returns the account's count and reservations in the month of now:
// Redis's, or this instance's local view while Redis is down.
func (q *QuotaCounter) Usage(ctx context.Context, id string, now time.Time) (used, inFlight int64, err error) {
	month := amp.MonthStart(now)
	if q.c.available() {
		vals, err := usageScript.Run(ctx, q.c.rdb, []string{q.countKey(id, month), q.reservationsKey(id)}, q.c.clockArg(now)).Int64Slice()
		if !q.c.result(ctx, "redis_quota", err) {
			if err != nil {
				return 0, 0, fmt.Errorf("redis: quota usage of account %s: %w", id, err)
			}
			if vals[0] >= 0 {
				return vals[0], vals[1], nil
			}
			n, err := q.storedCount(ctx, id, month)
			return n, vals[1], err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	q.mu.Lock()
	a := q.account(id)
	if a.seenMonth.Equal(month) {
		used, inFlight = a.seen+a.unsynced[month], a.local
		q.mu.Unlock()
		return used, inFlight, nil
	}
	inFlight = a.local
	q.mu.Unlock()
	used, err = q.storedCount(ctx, id, month)
	return used, inFlight, err
}

// Flush adds the finished counts to the store and, if Redis answers, the
// counts it missed to Redis (the reconciliation after an outage). Counts
// that fail to be written stay for the next Flush. It also forgets the
// accounts that have nothing pending or in flight.
func (q *QuotaCounter) Flush(ctx context.Context, now time.Time) error {
	q.io.Lock()
	defer q.io.Unlock()
	var deltas []amp.QuotaDelta
	type redisDelta struct {
		id    string
		month time.Time
		n     int64
	}
	var syncs []redisDelta
	q.mu.Lock()
	for id, a := range q.accounts {
		for month, n := range a.pending {
			if n != 0 {
				deltas = append(deltas, amp.QuotaDelta{AccountID: id, Month: month, Delta: n})
			}
			delete(a.pending, month)
		}
		for month, n := range a.unsynced {
			if n != 0 {
				syncs = append(syncs, redisDelta{id, month, n})
			} else {
				delete(a.unsynced, month)
			}
		}
		if len(a.held) == 0 && a.local == 0 && len(a.unsynced) == 0 && a.seenMonth.Before(amp.MonthStart(now)) {
			delete(q.accounts, id)
		}
	}
	q.mu.Unlock()

	if len(syncs) > 0 && q.c.available() {
		for _, s := range syncs {
			err := finishScript.Run(ctx, q.c.rdb, []string{q.countKey(s.id, s.month), q.reservationsKey(s.id)}, "", s.n).Err()
			if q.c.result(ctx, "redis_quota", err) || err != nil {
				break
			}
			q.mu.Lock()
			a := q.account(s.id)
			a.unsynced[s.month] -= s.n
			q.mu.Unlock()
		}
	}

	if len(deltas) == 0 || q.store == nil {
		return nil
	}
	if err := q.store.AddQuotaUsage(ctx, deltas); err != nil {
		q.mu.Lock()
		for _, d := range deltas {
			q.account(d.AccountID).pending[d.Month] += d.Delta
		}
		q.mu.Unlock()
		return fmt.Errorf("redis: flush quota counts: %w", err)
	}
	return nil
}
