package service

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Login throttling: the policy is ratelimit.LoginThrottle's. Failed
// sign-ins, failed current-password checks and every sign-up attempt spend
// from budgets per (email, client IP), per client IP and per email, except
// that a browser that signed in to the email before presents the device
// token of that sign-in and spends from a budget of its own, which no
// guesser elsewhere can drain: the owner is slowed only by their own
// mistakes. Budgets refill continuously, so a throttled attempt is told how
// long to wait, never locked out. The front end carries the device token
// (the dashboard, as a long-lived cookie); what it is worth is decided
// here.
//
// The budgets are keyed by whatever address was typed, known or not, so a
// throttled answer reveals nothing about which emails have accounts.

// loginThrottle is the sign-in throttle of one service.
type loginThrottle struct{ l *ratelimit.LoginThrottle }

// newLoginThrottle returns a throttle whose device tokens are signed with
// key (a random one when empty; see Config.DeviceKey), their ids drawn
// from random.
func newLoginThrottle(key []byte, random io.Reader) *loginThrottle {
	return &loginThrottle{l: ratelimit.NewLoginThrottle(key, random)}
}

// check returns RATE_LIMIT_EXCEEDED, with the wait in details.retryAfter,
// if the attempt must wait. Its Email may be "" for attempts limited per
// IP only.
func (t *loginThrottle) check(a ratelimit.LoginAttempt, now time.Time) error {
	w := t.l.Wait(a, now)
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
func (t *loginThrottle) fail(a ratelimit.LoginAttempt, now time.Time) { t.l.Fail(a, now) }

// succeed records a correct password and returns the device token for the
// browser: its later attempts at this email draw on a budget of their own.
// The address's and the email's failures stay, so that an attacker cannot
// refill them by signing in to an account of its own.
func (t *loginThrottle) succeed(a ratelimit.LoginAttempt, now time.Time) string {
	return t.l.Succeed(a, now)
}
