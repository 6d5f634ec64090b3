package service

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/amp-protocol/amp"
)

// keyCacheTTL bounds how long a key's state may be served from memory. It
// is what makes a revocation or roll through another instance take effect
// everywhere within a second; revocations through this instance take effect
// at once.
const keyCacheTTL = 500 * time.Millisecond

// Principal is an authenticated API key and its account.
type Principal struct {
	Key     *amp.APIKey
	Account *amp.Account
}

// Tenant is the partition the principal reads and writes.
func (p *Principal) Tenant() amp.Tenant { return p.Key.Tenant() }

// Authenticate resolves the secret key presented by clientIP. A malformed
// key is refused before any storage lookup.
//
// Failed attempts are counted per client IP, and past the budget only
// further failures are refused, with RATE_LIMIT_EXCEEDED and a wait, in
// place of UNAUTHORIZED: a valid key always passes, so a guesser (or a
// broken client) behind the same NAT or proxy as a working one cannot lock
// it out. The budget does not protect the keys, whose 143 random bits no
// guesser exhausts; it makes a guessing client see 429s and slows it.
func (s *Service) Authenticate(ctx context.Context, secret, clientIP string) (*Principal, error) {
	ctx, end := s.tracer.Start(ctx, amp.SpanAuthenticate)
	p, err := s.authenticate(ctx, secret, clientIP)
	end(err)
	return p, err
}

func (s *Service) authenticate(ctx context.Context, secret, clientIP string) (*Principal, error) {
	now := s.now()
	if secret == "" {
		return nil, amp.Errorf(amp.CodeUnauthorized, "Missing API key. Send it as 'Authorization: Bearer <key>'.")
	}
	fail := func(msg string) error {
		if wait := s.authFailures.Wait(clientIP, now); wait > 0 {
			retry := int(math.Ceil(wait.Seconds()))
			return amp.Errorf(amp.CodeRateLimitExceeded,
				"Too many failed authentication attempts. Please retry after %d seconds.", retry).
				WithDetails(map[string]any{"limit": s.authFailures.Burst(), "window": "60s", "retryAfter": retry})
		}
		s.authFailures.Fail(clientIP, now)
		return amp.Errorf(amp.CodeUnauthorized, "%s", msg)
	}
	if _, err := amp.ParseKey(secret); err != nil {
		return nil, fail("Invalid API key.")
	}
	p, err := s.lookupKey(ctx, amp.HashKey(secret), now)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, fail("Invalid API key.")
	}
	if err != nil {
		return nil, storeError(err, "", "")
	}
	switch p.Key.Status(now) {
	case amp.KeyRevoked:
		return nil, &KeyFailure{Principal: p, Err: fail("This API key has been revoked.")}
	case amp.KeyQuarantined:
		// Not a failed guess: the key is real, so the failure budget is
		// left alone. Its refused requests are metered all the same: a
		// leaked key still in use is what its owner must see.
		return nil, &KeyFailure{Principal: p, Err: quarantinedError(p.Key)}
	case amp.KeyExpired:
		return nil, &KeyFailure{Principal: p, Err: amp.Errorf(amp.CodeKeyExpired, "This API key has expired. Create a new key.")}
	}
	s.touches.add(p.Key.ID, now)
	return p, nil
}

// KeyFailure is an authentication failure of a key that exists (revoked,
// quarantined or expired): the error Authenticate returns then, naming the
// key so that the attempt is metered against it (see Refused). Principal
// must not be used to serve anything.
type KeyFailure struct {
	Principal *Principal
	Err       error
}

func (e *KeyFailure) Error() string { return e.Err.Error() }
func (e *KeyFailure) Unwrap() error { return e.Err }

// Authorize checks that the principal's key carries scope.
func (s *Service) Authorize(p *Principal, scope amp.Scope) error {
	if !p.Key.HasScope(scope) {
		return amp.Errorf(amp.CodeForbidden, "This API key lacks the %q permission.", scope).
			WithDetails(map[string]any{"requiredScope": string(scope)})
	}
	return nil
}

func (s *Service) lookupKey(ctx context.Context, hash string, now time.Time) (*Principal, error) {
	if p, ok := s.keys.get(hash, now); ok {
		return p, nil
	}
	key, err := s.store.KeyByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	acct, err := s.store.Account(ctx, key.AccountID)
	if err != nil {
		return nil, err
	}
	p := &Principal{Key: key, Account: acct}
	s.keys.put(hash, p, now)
	return p, nil
}

// keyCache keeps recently used keys for a short TTL, bounded in size: at
// most max entries, each a key and its account whose every text field is
// bounded (names at most 100 bytes, ids and hashes fixed), about 1 KiB at
// worst, so 10 MiB for the 10,000 New allows.
type keyCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[string]keyCacheEntry
}

type keyCacheEntry struct {
	p       *Principal
	fetched time.Time
}

func newKeyCache(ttl time.Duration, max int) *keyCache {
	return &keyCache{ttl: ttl, max: max, entries: make(map[string]keyCacheEntry)}
}

func (c *keyCache) get(hash string, now time.Time) (*Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.Sub(e.fetched) >= c.ttl || now.Before(e.fetched) {
		return nil, false
	}
	return e.p, true
}

func (c *keyCache) put(hash string, p *Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for h, e := range c.entries {
			if now.Sub(e.fetched) >= c.ttl || len(c.entries) >= c.max {
				delete(c.entries, h)
			}
		}
	}
	c.entries[hash] = keyCacheEntry{p: p, fetched: now}
}

// forget drops every cached key of an account, after a change to its keys
// or plan.
func (c *keyCache) forget(accountID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.p.Key.AccountID == accountID {
			delete(c.entries, h)
		}
	}
}

// touchQueue collects keys' last-used times so that authentication never
// writes; Run flushes them every second.
type touchQueue struct {
	mu      sync.Mutex
	pending map[string]time.Time
}

func newTouchQueue() *touchQueue { return &touchQueue{pending: make(map[string]time.Time)} }

func (q *touchQueue) add(id string, at time.Time) {
	q.mu.Lock()
	if at.After(q.pending[id]) {
		q.pending[id] = at
	}
	q.mu.Unlock()
}

func (q *touchQueue) take() map[string]time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil
	}
	p := q.pending
	q.pending = make(map[string]time.Time)
	return p
}

func (s *Service) flushTouches(ctx context.Context) {
	for id, at := range s.touches.take() {
		if err := s.store.TouchKey(ctx, id, at.UTC()); err != nil && !errors.Is(err, amp.ErrNotFound) {
			s.log.Warn("recording key last-used time failed", "key_id", id, "err", err)
		}
	}
}
