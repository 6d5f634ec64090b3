package dashboard

import (
	"net/http"
	"time"

	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Login throttling: the policy is ratelimit.LoginThrottle's. Failed
// sign-ins (and every sign-up attempt) spend from budgets per (email,
// client IP), per client IP and per email, except that a browser that
// signed in to the email before presents its device cookie and spends from
// a budget of its own, which no guesser elsewhere can drain: the owner is
// slowed only by their own mistakes. Budgets refill continuously, so a
// throttled attempt is told how long to wait, never locked out.
//
// The budgets are keyed by whatever address was typed, known or not, so a
// throttled answer reveals nothing about which emails have accounts.

// deviceCookieMaxAge is how long a browser's device cookie lasts.
const deviceCookieMaxAge = 365 * 24 * time.Hour

// throttle is the sign-in throttle of one dashboard.
type throttle struct{ login *ratelimit.LoginThrottle }

func newThrottle(key []byte) *throttle {
	return &throttle{login: ratelimit.NewLoginThrottle(key, nil)}
}

// wait returns how long until an attempt for email from ip, by the browser
// whose device cookie is device ("" if none), is allowed. email may be ""
// for attempts limited per IP only.
func (t *throttle) wait(email, ip, device string, now time.Time) time.Duration {
	return t.login.Wait(ratelimit.LoginAttempt{Email: email, IP: ip, Device: device}, now)
}

// fail records a failed attempt.
func (t *throttle) fail(email, ip, device string, now time.Time) {
	t.login.Fail(ratelimit.LoginAttempt{Email: email, IP: ip, Device: device}, now)
}

// succeed records a correct password and returns the device cookie's new
// value for the browser.
func (t *throttle) succeed(email, ip, device string, now time.Time) string {
	return t.login.Succeed(ratelimit.LoginAttempt{Email: email, IP: ip, Device: device}, now)
}

func (h *handler) deviceCookieName() string {
	if h.cfg.Secure {
		return "__Host-amp_device"
	}
	return "amp_device"
}

// device returns the request's device cookie, "" if none.
func (h *handler) device(r *http.Request) string {
	if c, err := r.Cookie(h.deviceCookieName()); err == nil {
		return c.Value
	}
	return ""
}
