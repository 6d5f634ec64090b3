package dashboard

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login throttling. Failed sign-ins (and every sign-up attempt) spend from
// two token buckets: one per email address, which stops a guesser who
// spreads over many addresses from focusing on one account, and one per
// client IP, which stops one client from trying many accounts. Either
// bucket being empty refuses the attempt before any password is checked.
// The buckets refill continuously, so this is a slow-down, never a lockout
// an attacker could impose for long on a real user.
//
// The email bucket is keyed by whatever address was typed, known or not,
// so a throttled answer reveals nothing about which emails have accounts.
const (
	EmailFailureBurst = 10          // failures allowed at once per email
	EmailRefill       = time.Minute // then one more per EmailRefill
	IPFailureBurst    = 30          // failures allowed at once per client IP
	IPRefill          = 6 * time.Second
)

// maxThrottleKeys bounds the memory of each bucket set.
const maxThrottleKeys = 100_000

// keyedBuckets is a set of token buckets, one per key, bounded in size. A
// bucket that has refilled holds no information and is dropped first.
type keyedBuckets struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	max     int
	buckets map[string]*rate.Limiter
}

func newKeyedBuckets(every time.Duration, burst, maxKeys int) *keyedBuckets {
	return &keyedBuckets{every: every, burst: burst, max: maxKeys, buckets: make(map[string]*rate.Limiter)}
}

// wait returns how long until key may try again: 0 if it may now.
func (k *keyedBuckets) wait(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		return 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(k.every))
}

// spend takes one token from key's bucket.
func (k *keyedBuckets) spend(key string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= k.max {
			k.evict(now)
		}
		b = rate.NewLimiter(rate.Every(k.every), k.burst)
		k.buckets[key] = b
	}
	b.AllowN(now, 1)
}

// forget drops key's bucket.
func (k *keyedBuckets) forget(key string) {
	k.mu.Lock()
	delete(k.buckets, key)
	k.mu.Unlock()
}

// evict drops the buckets that have refilled; if that is not enough, an
// arbitrary tenth, so that a spray of addresses cannot grow memory.
func (k *keyedBuckets) evict(now time.Time) {
	for key, b := range k.buckets {
		if b.TokensAt(now) >= float64(k.burst) {
			delete(k.buckets, key)
		}
	}
	for key := range k.buckets {
		if len(k.buckets) < k.max*9/10 {
			break
		}
		delete(k.buckets, key)
	}
}

// throttle is the sign-in throttle of one dashboard.
type throttle struct {
	email *keyedBuckets
	ip    *keyedBuckets
}

func newThrottle() *throttle {
	return &throttle{
		email: newKeyedBuckets(EmailRefill, EmailFailureBurst, maxThrottleKeys),
		ip:    newKeyedBuckets(IPRefill, IPFailureBurst, maxThrottleKeys),
	}
}

// wait returns how long until an attempt for email from ip is allowed.
// email may be "" for attempts that are limited per IP only.
func (t *throttle) wait(email, ip string, now time.Time) time.Duration {
	w := t.ip.wait(ip, now)
	if email != "" {
		w = max(w, t.email.wait(email, now))
	}
	return w
}

// fail records a failed attempt.
func (t *throttle) fail(email, ip string, now time.Time) {
	t.ip.spend(ip, now)
	if email != "" {
		t.email.spend(email, now)
	}
}

// succeed clears the email's failures after a correct password: its owner
// is back. The IP's failures stay, so that an attacker cannot refill its
// own budget by signing in to an account of its own.
func (t *throttle) succeed(email string) { t.email.forget(email) }
