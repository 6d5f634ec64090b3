package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failures are budgets of failures (wrong keys, wrong passwords), one per
// key such as a client IP or an email address, kept in this process's
// memory. A budget holds burst failures and regains one every refill, so a
// throttled client is slowed down, never locked out for long. Only failures
// spend: Wait asks without spending. The number of keys is bounded: a
// budget that has refilled holds no information and is forgotten first.
type Failures struct {
	mu      sync.Mutex
	refill  time.Duration
	burst   int
	max     int
	budgets map[string]*rate.Limiter
}

// NewFailures returns budgets of burst failures that regain one every
// refill, for at most maxKeys keys at a time.
func NewFailures(refill time.Duration, burst, maxKeys int) *Failures {
	return &Failures{refill: refill, burst: burst, max: max(maxKeys, 1), budgets: make(map[string]*rate.Limiter)}
}

// Burst is the number of failures a fresh budget allows.
func (f *Failures) Burst() int { return f.burst }

// Wait returns how long until key may fail again: 0 if it may now.
func (f *Failures) Wait(key string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.budgets[key]
	if !ok {
		return 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(f.refill))
}

// Fail spends one failure of key's budget.
func (f *Failures) Fail(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.budgets[key]
	if !ok {
		if len(f.budgets) >= f.max {
			f.evict(now)
		}
		b = rate.NewLimiter(rate.Every(f.refill), f.burst)
		f.budgets[key] = b
	}
	b.AllowN(now, 1)
}

// Forget gives key its whole budget back.
func (f *Failures) Forget(key string) {
	f.mu.Lock()
	delete(f.budgets, key)
	f.mu.Unlock()
}

// Len is the number of keys with a budget in use.
func (f *Failures) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.budgets)
}

// evict forgets the budgets that have refilled; if that is not enough, an
// arbitrary tenth, so that a spray of keys (addresses, say) cannot grow
// memory. Forgetting a budget only ever lets its key fail sooner.
func (f *Failures) evict(now time.Time) {
	for key, b := range f.budgets {
		if b.TokensAt(now) >= float64(f.burst) {
			delete(f.budgets, key)
		}
	}
	for key := range f.budgets {
		if len(f.budgets) < f.max*9/10 {
			break
		}
		delete(f.budgets, key)
	}
}
