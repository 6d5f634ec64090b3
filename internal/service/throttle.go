package service

import (
	"fmt"
	"math"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Login throttling. Failed sign-ins, failed current-password checks and
// every sign-up attempt spend from two failure budgets: one per email
// address, which stops a guesser who spreads over many addresses from
// focusing on one account, and one per client IP, which stops one client
// from trying many accounts. Either budget being empty refuses the attempt
// before any password is checked. The budgets refill continuously, so this
// is a slow-down, never a lockout an attacker could impose for long on a
// real user.
//
// The email budget is keyed by whatever address was typed, known or not,
// so a throttled answer reveals nothing about which emails have accounts.
const (
	EmailFailureBurst = 10          // failures allowed at once per email
	EmailRefill       = time.Minute // then one more per EmailRefill
	IPFailureBurst    = 30          // failures allowed at once per client IP
	IPRefill          = 6 * time.Second
)

// maxThrottleKeys bounds the memory of each budget set.
const maxThrottleKeys = 100_000

// loginThrottle is the sign-in throttle of one service.
type loginThrottle struct {
	email *ratelimit.Failures
	ip    *ratelimit.Failures
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		email: ratelimit.NewFailures(EmailRefill, EmailFailureBurst, maxThrottleKeys),
		ip:    ratelimit.NewFailures(IPRefill, IPFailureBurst, maxThrottleKeys),
	}
}

// check returns RATE_LIMIT_EXCEEDED, with the wait in details.retryAfter,
// if an attempt for email from ip must wait. email may be "" for attempts
// limited per IP only.
func (t *loginThrottle) check(email, ip string, now time.Time) error {
	w := t.ip.Wait(ip, now)
	if email != "" {
		w = max(w, t.email.Wait(email, now))
	}
	if w <= 0 {
		return nil
	}
	secs := int(math.Ceil(w.Seconds()))
	msg := "Too many attempts. Wait a minute, then try again."
	if mins := int(math.Ceil(w.Minutes())); mins > 1 {
		msg = fmt.Sprintf("Too many attempts. Wait %d minutes, then try again.", mins)
	}
	return amp.Errorf(amp.CodeRateLimitExceeded, "%s", msg).WithDetails(map[string]any{"retryAfter": secs})
}

// fail records a failed attempt.
func (t *loginThrottle) fail(email, ip string, now time.Time) {
	t.ip.Fail(ip, now)
	if email != "" {
		t.email.Fail(email, now)
	}
}

// succeed clears the email's failures after a correct password: its owner
// is back. The IP's failures stay, so that an attacker cannot refill its
// own budget by signing in to an account of its own.
func (t *loginThrottle) succeed(email string) { t.email.Forget(email) }
