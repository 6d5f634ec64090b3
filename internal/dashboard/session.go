package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/amp-protocol/amp"
)

// Sessions. A session token is 32 random bytes; the browser holds it in an
// HttpOnly cookie and the store holds only its SHA-256, so a leaked
// database does not let anyone in. A token is created at every sign-in and
// sign-up and never accepted from anywhere else, so a token planted in a
// victim's browser before they sign in is worthless afterwards (session
// fixation); the session that was in the browser is deleted too.
//
// A session ends after SessionIdle without a request or SessionLifetime
// after it began, whichever is first, at sign-out, and when the password
// changes.

// Default session timeouts.
const (
	DefaultSessionIdle     = 12 * time.Hour
	DefaultSessionLifetime = 7 * 24 * time.Hour
	// touchEvery bounds the writes that keep a session alive: its last-seen
	// time is stored at most once per touchEvery.
	touchEvery = time.Minute
	// sweepEvery is how often a sign-in also clears expired sessions.
	sweepEvery = time.Hour
)

const tokenBytes = 32

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

const modeCookieName = "amp_mode"

// newToken returns a fresh random token, base64url without padding.
func newToken(random io.Reader) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("dashboard: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validToken reports whether s has the shape of a token, so that garbage
// cookies are refused before any lookup.
func validToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// hashToken is the stored form of a session token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

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

// session is a signed-in request's identity.
type session struct {
	token   string
	rec     *amp.DashboardSession
	user    *amp.DashboardUser
	account *amp.Account
}

var errNoSession = errors.New("no session")

// loadSession resolves the session cookie of r. It returns errNoSession for
// a missing, malformed, unknown, expired or superseded session, and other
// errors for a store that failed.
func (h *handler) loadSession(ctx context.Context, r *http.Request) (*session, error) {
	c, err := r.Cookie(h.sessionCookieName())
	if err != nil || !validToken(c.Value) {
		return nil, errNoSession
	}
	hash := hashToken(c.Value)
	rec, err := h.store.DashboardSession(ctx, hash)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := h.now()
	if !now.Before(rec.ExpiresAt) || now.Sub(rec.LastSeenAt) >= h.cfg.SessionIdle {
		if err := h.store.DeleteDashboardSession(ctx, hash); err != nil {
			h.log.Warn("deleting an expired dashboard session failed", "err", err)
		}
		return nil, errNoSession
	}
	u, err := h.store.DashboardUser(ctx, rec.UserID)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if rec.CreatedAt.Before(u.PasswordChangedAt) {
		return nil, errNoSession
	}
	acct, err := h.svc.Account(ctx, u.AccountID)
	if err != nil {
		return nil, err
	}
	if now.Sub(rec.LastSeenAt) >= touchEvery {
		if err := h.store.TouchDashboardSession(ctx, hash, now); err != nil {
			h.log.Warn("refreshing a dashboard session failed", "err", err)
		}
	}
	return &session{token: c.Value, rec: rec, user: u, account: acct}, nil
}

// startSession creates a session for u and sets its cookie, after deleting
// the session r came with, if any: a new token at every sign-in is what
// defeats session fixation.
func (h *handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u *amp.DashboardUser) error {
	if c, err := r.Cookie(h.sessionCookieName()); err == nil && validToken(c.Value) {
		if err := h.store.DeleteDashboardSession(ctx, hashToken(c.Value)); err != nil {
			return fmt.Errorf("end previous session: %w", err)
		}
	}
	token, err := newToken(h.random)
	if err != nil {
		return err
	}
	now := h.now()
	rec := &amp.DashboardSession{
		TokenHash:  hashToken(token),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(h.cfg.SessionLifetime),
	}
	if err := h.store.CreateDashboardSession(ctx, rec); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	h.setCookie(w, h.sessionCookieName(), token, h.cfg.SessionLifetime, http.SameSiteLaxMode)
	// The pre-session CSRF cookie has served its purpose.
	h.clearCookie(w, h.csrfCookieName())
	h.maybeSweep(ctx, now)
	return nil
}

// maybeSweep deletes expired sessions at most once per sweepEvery, on the
// path of a sign-in: no background goroutine is needed for a table that
// only grows by sign-ins.
func (h *handler) maybeSweep(ctx context.Context, now time.Time) {
	last := h.lastSweep.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < sweepEvery {
		return
	}
	if !h.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	n, err := h.store.DeleteExpiredDashboardSessions(ctx, now, now.Add(-h.cfg.SessionIdle))
	if err != nil {
		h.log.Warn("sweeping expired dashboard sessions failed", "err", err)
		return
	}
	if n > 0 {
		h.log.Info("swept expired dashboard sessions", "sessions", n)
	}
}

// preSessionSecret returns the secret of the CSRF cookie of a browser that
// is not signed in, creating and setting one if it has none.
func (h *handler) preSessionSecret(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(h.csrfCookieName()); err == nil && validToken(c.Value) {
		return c.Value, nil
	}
	token, err := newToken(h.random)
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
