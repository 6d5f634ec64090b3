// Package ratelimit implements amp.Limiter: the per-second rates and the
// monthly live quotas of the plans (docs/api.md#plans-and-limits).
//
// # Policy
//
// A request by key k of account a in mode m takes one token from the bucket
// of (a, m), whose rate is the plan's (enterprise accounts may have a custom
// one) and whose burst is one second's worth. If k has its own rate limit
// below the plan's, it must also take a token from k's own bucket: a key's
// limit can only lower the account's. Tokens are taken from both buckets or
// from neither, so a request refused by the key's bucket leaves the
// account's tokens for the account's other keys.
//
// A live request also reserves one unit of the account's monthly quota at
// Admit. Finish turns the reservation into a count when the response was
// 2xx and releases it otherwise, so exactly the quota's number of requests
// succeed in a UTC month: requests in flight hold units, and a failed one
// gives its unit back. Test mode is never counted. Enterprise accounts have
// no quota, but their live requests are counted all the same (usage is
// metered on every plan).
//
// A refused request changes nothing: the quota is checked first, and a
// request that passes it but fails the rate gives its reserved unit back;
// one refused by the quota takes no tokens.
//
// # Mechanics
//
// The policy is separate from the mechanics, which sit behind two
// interfaces: Buckets (Memory keeps token buckets, golang.org/x/time/rate,
// in this process, bounded in number by evicting full, hence idle,
// buckets) and a QuotaCounter (counted in this process by default, as below).
// internal/redis implements both in Redis, for several instances, without
// touching the policy.
//
// # Quota durability
//
// Quota counts are kept in memory per account, loaded from the QuotaStore
// at an account's first request of a month, and added to the store in
// batches every FlushInterval and by Close. A crash loses at worst the
// counts of the last FlushInterval: the account is then allowed that many
// extra requests, never fewer. Reservations in flight are never persisted.
// Counts are per process: several instances each enforce the whole quota
// against the stored count they loaded, so a multi-instance deployment
// needs a shared counter: Config.QuotaCounter.
//
// # Failure budgets
//
// Failures, beside the plans, throttles what fails rather than what
// succeeds: wrong API keys per client IP (the service, which refuses only
// further failures, never a valid key) and wrong passwords (LoginThrottle:
// per email and IP, per IP, per email, and per device that signed in
// before, so that the owner is not locked out). They are kept per process.
package ratelimit
