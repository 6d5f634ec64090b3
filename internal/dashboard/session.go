package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/amp-protocol/amp/internal/service"
)

// The browser's side of sessions: cookies and CSRF tokens. Sessions
// themselves (tokens, their lifetimes, what ends them) are the service's
// (internal/service, sessions.go); the dashboard carries the token in an
// HttpOnly cookie and never anywhere else.

// Cookie names. Under TLS they carry the __Host- prefix, which makes the
// browser refuse them unless Secure, host-only and for path "/": a sibling
// subdomain cannot plant or overwrite them.
func (h *handler) sessionCookieName() string {
	if h.cfg.Secure {
		return "__Host-amp_session"
	}
	return "amp_session"
}

func (h *handler) csrfCookieName() string {
	if h.cfg.Secure {
		return "__Host-amp_csrf"
	}
	return "amp_csrf"
}

// deviceCookieName is the cookie holding the device token of the browser's
// last sign-in (service.Session.DeviceToken). It outlives sessions and
// sign-outs: it is how the service's sign-in throttle recognises the
// owner's usual browser, which a guesser elsewhere cannot slow down.
func (h *handler) deviceCookieName() string {
	if h.cfg.Secure {
		return "__Host-amp_device"
	}
	return "amp_device"
}

// deviceCookieMaxAge is how long a browser keeps its device cookie.
const deviceCookieMaxAge = 365 * 24 * time.Hour

const modeCookieName = "amp_mode"

// csrfToken derives the anti-CSRF token of the forms of a browser from its
// secret cookie token (the session token once signed in, a pre-session
// token before). It is an HMAC, so it reveals nothing about the cookie, and
// it differs from the stored SHA-256 of the session token.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("amp dashboard csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfValid compares a submitted token with the expected one in constant
// time.
func csrfValid(secret, submitted string) bool {
	if secret == "" || submitted == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(csrfToken(secret)), []byte(submitted)) == 1
}

// sessionToken returns the session token the browser sent, or "".
func (h *handler) sessionToken(r *http.Request) string {
	if c, err := r.Cookie(h.sessionCookieName()); err == nil {
		return c.Value
	}
	return ""
}

// deviceToken returns the device token the browser sent, or "". What it is
// worth is the service's to decide.
func (h *handler) deviceToken(r *http.Request) string {
	if c, err := r.Cookie(h.deviceCookieName()); err == nil {
		return c.Value
	}
	return ""
}

// session resolves the browser's session through the service:
// service.ErrNoSession when it has none that is live.
func (h *handler) session(r *http.Request) (*service.Session, error) {
	return h.svc.Session(r.Context(), h.sessionToken(r))
}

// signedIn sets the cookie of a new session, and the device cookie after a
// sign-in, and clears the pre-session CSRF cookie, which has served its
// purpose.
func (h *handler) signedIn(w http.ResponseWriter, s *service.Session) {
	_, lifetime := h.svc.SessionTimeouts()
	h.setCookie(w, h.sessionCookieName(), s.Token, lifetime, http.SameSiteLaxMode)
	if s.DeviceToken != "" {
		// Strict: only our own sign-in form needs it.
		h.setCookie(w, h.deviceCookieName(), s.DeviceToken, deviceCookieMaxAge, http.SameSiteStrictMode)
	}
	h.clearCookie(w, h.csrfCookieName())
}

// preSessionSecret returns the secret of the CSRF cookie of a browser that
// is not signed in, creating and setting one if it has none.
func (h *handler) preSessionSecret(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(h.csrfCookieName()); err == nil && service.ValidToken(c.Value) {
		return c.Value, nil
	}
	token, err := h.svc.NewToken()
	if err != nil {
		return "", err
	}
	// Strict: the cookie is only needed for posting the sign-in and
	// sign-up forms from our own pages.
	h.setCookie(w, h.csrfCookieName(), token, 12*time.Hour, http.SameSiteStrictMode)
	return token, nil
}

func (h *handler) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration, same http.SameSite) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   h.cfg.Secure,
		SameSite: same,
	})
}

func (h *handler) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   h.cfg.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}
