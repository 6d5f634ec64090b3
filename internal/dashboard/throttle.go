package dashboard

import (
	"time"

	"github.com/amp-protocol/amp/internal/ratelimit"
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

// maxThrottleKeys bounds the memory of each budget set.
const maxThrottleKeys = 100_000

// throttle is the sign-in throttle of one dashboard.
type throttle struct {
	email *ratelimit.Failures
	ip    *ratelimit.Failures
}

func newThrottle() *throttle {
	return &throttle{
		email: ratelimit.NewFailures(EmailRefill, EmailFailureBurst, maxThrottleKeys),
		ip:    ratelimit.NewFailures(IPRefill, IPFailureBurst, maxThrottleKeys),
	}
}

// wait returns how long until an attempt for email from ip is allowed.
// email may be "" for attempts that are limited per IP only.
func (t *throttle) wait(email, ip string, now time.Time) time.Duration {
	w := t.ip.Wait(ip, now)
	if email != "" {
		w = max(w, t.email.Wait(email, now))
	}
	return w
}

// fail records a failed attempt.
func (t *throttle) fail(email, ip string, now time.Time) {
	t.ip.Fail(ip, now)
	if email != "" {
		t.email.Fail(email, now)
	}
}

// succeed clears the email's failures after a correct password: its owner
// is back. The IP's failures stay, so that an attacker cannot refill its
// own budget by signing in to an account of its own.
func (t *throttle) succeed(email string) { t.email.Forget(email) }
