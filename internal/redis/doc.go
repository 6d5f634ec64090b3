// Package redis keeps the rate buckets and the monthly quota counts of
// internal/ratelimit in Redis, so that several `amp serve` instances share
// one account's limits. It implements the mechanics only: the policy (which
// buckets a request takes from, what a refusal says, when a request counts)
// stays in package ratelimit.
//
// # Deployment
//
// One Redis server (a primary, with replicas or Sentinel if wanted) for all
// instances; Redis Cluster is not supported, because the buckets of one
// request (the account's and the key's) are updated by one script and so
// must live on one node. Nothing needs persisting: a restarted Redis starts
// with full buckets, and re-seeds each account's monthly count from the
// database (see QuotaCounter), so the URL's server may run with no RDB or AOF.
//
// # Rate buckets
//
// Buckets implements ratelimit.Buckets with one Lua script per call that
// reads, checks and updates every bucket of the request: the check and the
// take are one atomic step on the server, so a request refused by its
// key's bucket consumes nothing from its account's, however many instances
// race. A bucket is a hash {t: tokens, ts: time in µs, r: rate} that
// expires when it would be full again, since a full bucket and a missing
// one are the same; Redis therefore holds only the buckets of recently
// active keys.
//
// The clock is Redis's own (the TIME command inside the script) unless the
// Client was opened WithCallerClock: instances' clocks drift apart, and a
// bucket refilled by the clock of whichever instance touched it last would
// gain or lose tokens with each skew; one clock for all keeps the rate
// exact. Tests use the caller's clock to control time.
//
// # Quota counts
//
// QuotaCounter is the monthly live-request counter behind the quota policy: the
// count of an account's 2xx live requests in a UTC month, one Redis string
// per account and month (it expires a week after the month ends), and the
// account's reservations in flight, a sorted set of reservation ids scored
// by their expiry. Reserve checks count + reservations against the limit
// and adds a reservation in one script; Finish removes it and, for a 2xx,
// increments the count; Release removes it. Reservations expire after
// ReservationTTL, so that the requests in flight of an instance that died
// stop holding quota units. A month's count is created by the first
// Reserve that finds it missing, from the count stored in the database
// (amp.QuotaStore) plus what this instance has not yet written there.
//
// The database stays the durable record: every instance adds the counts
// it finished to amp.QuotaStore in batches (Flush), as the in-memory
// counter does, and `amp usage` and the dashboard read them from there.
//
// # When Redis is unreachable
//
// The API stays up; limits become per instance until Redis is back. The
// choice is availability over exactness: a Redis outage must not become an
// outage of every instance, and the limits are fairness and billing
// guards whose excess over an outage is bounded and visible, not a
// security boundary (key checks do not depend on Redis).
//
//   - Rate: each instance falls back to in-process buckets
//     (ratelimit.Memory) with the full rate. With N instances behind a
//     balancer an account may get up to N times its rate while Redis is
//     down.
//   - QuotaCounter: each instance counts locally from the count it last saw in
//     Redis for the account (or, if it never saw one this month, from the
//     database): it refuses once that count plus what it finished and has
//     in flight since reaches the limit. The other instances' requests in
//     that time are not seen, so an account may exceed its quota by what
//     the other instances admit during the outage. Nothing is lost: the
//     counts finished meanwhile are added to the database as always, and
//     to the Redis count (INCRBY) by the first Flush after Redis answers
//     again: the reconciliation.
//
// A failed Redis call marks Redis down for RetryInterval (one second by
// default): requests then go to the fallback at once instead of each
// waiting for a timeout, and one request per interval probes Redis again.
// The transitions are logged (Warn when Redis is lost, Info when it is
// back) and every failed call is counted in the amp_store_errors_total
// metric under op "redis_rate" or "redis_quota", in the set WithMetrics
// gives (the server's, served at /metrics). A request whose own
// context ends is not a Redis failure and falls back to nothing: its error
// is returned.
package redis
