package dashboard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/service"
)

// Prefix is the path under which the dashboard serves everything.
const Prefix = "/dashboard"

// maxFormBytes bounds the body of every form post.
const maxFormBytes = 64 << 10

// Config configures the dashboard. The zero value is usable except that
// sign-up is closed.
type Config struct {
	// Logger receives failures and security events (sign-ins, throttling);
	// never passwords, tokens or keys. Discarded when nil.
	Logger *slog.Logger
	// Now is the clock; the service's clock when nil.
	Now func() time.Time
	// Random is the source of session tokens and salts; crypto/rand when nil.
	Random io.Reader
	// AllowSignup opens sign-up to anyone who can reach the server. Private
	// deployments leave it off and add users with AddUser.
	AllowSignup bool
	// Secure marks cookies Secure (and gives them the __Host- prefix). Set it
	// when the dashboard is served over TLS, directly or behind a
	// TLS-terminating proxy.
	Secure bool
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For header is believed when attributing sign-in attempts
	// to client IPs.
	TrustedProxies []netip.Prefix
	// TrustedOrigins are extra origins ("https://admin.example.com") allowed
	// to post forms, for a proxy that rewrites the Host header. The
	// dashboard's own origin is always allowed.
	TrustedOrigins []string
	// Password sets the argon2id parameters; DefaultPasswordParams when zero.
	Password PasswordParams
	// SessionIdle and SessionLifetime bound sessions; DefaultSessionIdle and
	// DefaultSessionLifetime when zero.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// Usage holds the meter's counts, which the Usage page and the keys'
	// leak warnings read through internal/monitor; without it the page says
	// that usage is not recorded.
	Usage amp.UsageStore
	// Quota reports an account's live usage this month against its plan
	// (a *ratelimit.Limiter does, counting what it has not stored yet);
	// without it the stored counts of Usage are shown.
	Quota QuotaSource
	// Lift measures what personalisation adds, for the Profiles page's
	// learning card when the account has a holdout; without it the card
	// says that lift is not measured.
	Lift LiftFunc
	// DeviceKey signs the device cookies of browsers that signed in, which
	// the login throttle spares (see throttle.go). Give every instance the
	// same key, kept across restarts; a random one when empty, so cookies
	// from before a restart count as from new browsers.
	DeviceKey []byte
}

// QuotaSource reports an account's monthly live usage.
type QuotaSource interface {
	QuotaUsage(ctx context.Context, a *amp.Account, now time.Time) (ratelimit.Quota, error)
}

// handler is the dashboard.
type handler struct {
	svc    *service.Service
	store  amp.DashboardStore
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	random io.Reader

	hash     *hasher
	throttle *throttle
	cop      *http.CrossOriginProtection
	pages    *pages
	mux      *http.ServeMux

	lastSweep atomic.Int64 // unix nanoseconds of the last expired-session sweep
}

// New returns the dashboard's handler, which serves every path under
// /dashboard/. Mount it on the server's mux next to the API:
//
//	mux.Handle("/dashboard/", dashboard.New(svc, store, cfg))
//
// Sending "/" to "/dashboard/" is the server's decision, not the
// dashboard's. New panics if cfg is invalid or the embedded templates do
// not parse, which are programming errors; use Build to get an error.
func New(svc *service.Service, store amp.DashboardStore, cfg Config) http.Handler {
	h, err := Build(svc, store, cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// Build is New with an error instead of a panic.
func Build(svc *service.Service, store amp.DashboardStore, cfg Config) (http.Handler, error) {
	if svc == nil || store == nil {
		return nil, errors.New("dashboard: a service and a store are required")
	}
	h := &handler{svc: svc, store: store, cfg: cfg, log: cfg.Logger, now: cfg.Now, random: cfg.Random}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = svc.Now
	}
	if h.random == nil {
		h.random = rand.Reader
	}
	if h.cfg.Password == (PasswordParams{}) {
		h.cfg.Password = DefaultPasswordParams
	}
	if h.cfg.SessionIdle <= 0 {
		h.cfg.SessionIdle = DefaultSessionIdle
	}
	if h.cfg.SessionLifetime <= 0 {
		h.cfg.SessionLifetime = DefaultSessionLifetime
	}
	var err error
	if h.hash, err = newHasher(h.cfg.Password, h.random, runtime.GOMAXPROCS(0)); err != nil {
		return nil, err
	}
	h.throttle = newThrottle(cfg.DeviceKey)
	h.cop = http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := h.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("dashboard: trusted origin: %w", err)
		}
	}
	h.cop.SetDenyHandler(http.HandlerFunc(h.crossOriginDenied))
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func (h *handler) routes() {
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix+"/static/", staticHandler())
	mux.HandleFunc("GET "+Prefix+"/{$}", h.root)
	mux.HandleFunc("GET "+Prefix+"/login", h.loginPage)
	mux.HandleFunc("POST "+Prefix+"/login", h.login)
	mux.HandleFunc("GET "+Prefix+"/signup", h.signupPage)
	mux.HandleFunc("POST "+Prefix+"/signup", h.signup)
	mux.HandleFunc("POST "+Prefix+"/logout", h.authed("", h.logout))
	// Every page of the signed-in dashboard exists once per mode, with the
	// mode in its path: a tab stays in the mode it shows, and forms post to
	// the mode they were rendered in.
	for _, m := range []amp.Mode{amp.ModeTest, amp.ModeLive} {
		p := Prefix + "/" + string(m)
		mux.HandleFunc("GET "+p+"/{$}", h.authed(m, h.modeRoot))
		mux.HandleFunc("GET "+p+"/keys", h.authed(m, h.keysPage))
		mux.HandleFunc("POST "+p+"/keys", h.authed(m, h.createKey))
		mux.HandleFunc("GET "+p+"/keys/{id}/roll", h.authed(m, h.rollPage))
		mux.HandleFunc("POST "+p+"/keys/{id}/roll", h.authed(m, h.rollKey))
		mux.HandleFunc("GET "+p+"/keys/{id}/revoke", h.authed(m, h.revokePage))
		mux.HandleFunc("POST "+p+"/keys/{id}/revoke", h.authed(m, h.revokeKey))
		mux.HandleFunc("GET "+p+"/usage", h.authed(m, h.usagePage))
		mux.HandleFunc("GET "+p+"/profiles", h.authed(m, h.profilesPage))
		mux.HandleFunc("GET "+p+"/profiles/view", h.authed(m, h.profilePage))
		mux.HandleFunc("GET "+p+"/profiles/delete", h.authed(m, h.deleteProfilePage))
		mux.HandleFunc("POST "+p+"/profiles/delete", h.authed(m, h.deleteProfile))
		mux.HandleFunc("GET "+p+"/plan", h.authed(m, h.planPage))
		mux.HandleFunc("GET "+p+"/settings", h.authed(m, h.settingsPage))
		mux.HandleFunc("POST "+p+"/settings/account", h.authed(m, h.updateAccount))
		mux.HandleFunc("POST "+p+"/settings/password", h.authed(m, h.changePassword))
		mux.HandleFunc("POST "+p+"/settings/sessions", h.authed(m, h.endOtherSessions))
	}
	mux.HandleFunc(Prefix+"/", h.notFound)
	h.mux = mux
}

// ServeHTTP implements http.Handler: security headers, panic recovery and
// the cross-origin check, then the routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// No inline script or style anywhere: charts are SVG markup with
	// presentation attributes, and the little JavaScript is a file.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if h.cfg.Secure {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("dashboard: panic", "panic", v, "path", r.URL.Path)
			h.renderError(w, r, nil, http.StatusInternalServerError)
		}
	}()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if !formText(r) {
		h.renderErrorMessage(w, r, nil, http.StatusBadRequest, "The form holds text that is not valid UTF-8 or contains NUL characters.")
		return
	}
	h.cop.Handler(h.mux).ServeHTTP(w, r)
}

// formText reports whether every form field and query parameter obeys the
// text rule (amp.ValidText), the one every backend is held to: checked once
// here, no page handler passes such text on (the sign-in email, above all,
// which needs no session). A form too large to parse is left to the
// handlers, which answer it.
func formText(r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return true
	}
	for k, vs := range r.Form {
		if !amp.ValidText(k) {
			return false
		}
		for _, v := range vs {
			if !amp.ValidText(v) {
				return false
			}
		}
	}
	return true
}

// crossOriginDenied answers a form post from another site.
func (h *handler) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("dashboard: cross-origin form post refused", "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	h.renderError(w, r, nil, http.StatusForbidden)
}

// request is what a signed-in page handler gets.
type request struct {
	*session
	mode amp.Mode
	csrf string
}

func (rq *request) tenant() amp.Tenant {
	return amp.Tenant{AccountID: rq.account.ID, Mode: rq.mode}
}

type pageFunc func(w http.ResponseWriter, r *http.Request, rq *request) error

// authed wraps a page that needs a signed-in user: without a session, a
// GET goes to the sign-in page and comes back after it; any POST must carry
// the session's CSRF token. mode is the page's mode ("" for pages that have
// none).
func (h *handler) authed(mode amp.Mode, fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.loadSession(r.Context(), r)
		if errors.Is(err, errNoSession) {
			h.clearCookie(w, h.sessionCookieName())
			next := ""
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, loginURL(next), http.StatusSeeOther)
			return
		}
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		rq := &request{session: s, mode: mode, csrf: csrfToken(s.token)}
		if rq.mode == "" {
			rq.mode = amp.ModeTest
		}
		if r.Method == http.MethodPost && !csrfValid(s.token, r.PostFormValue("csrf_token")) {
			h.log.Warn("dashboard: form post with a bad csrf token", "path", r.URL.Path, "user_id", s.user.ID)
			h.renderError(w, r, rq, http.StatusForbidden)
			return
		}
		if mode != "" {
			if c, err := r.Cookie(modeCookieName); err != nil || c.Value != string(mode) {
				http.SetCookie(w, &http.Cookie{Name: modeCookieName, Value: string(mode), Path: Prefix + "/",
					MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := fn(w, r, rq); err != nil {
			h.fail(w, r, rq, err)
		}
	}
}

// fail answers an error of a page handler: amp error codes the user can
// act on become their status; anything else is logged and shown as a
// generic failure.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	var mbe *http.MaxBytesError
	switch code := amp.ErrorCode(err); {
	case errors.As(err, &mbe):
		h.renderError(w, r, rq, http.StatusRequestEntityTooLarge)
	case code == amp.CodeNotFound:
		h.renderError(w, r, rq, http.StatusNotFound)
	case code == amp.CodeInvalidRequest || code == amp.CodeInvalidUserID:
		// Forms check their input before calling the service; this is a
		// rule only the service knows, and its message is for the user.
		h.renderErrorMessage(w, r, rq, http.StatusBadRequest, amp.ErrorMessage(err))
	case code == amp.CodeServiceUnavailable:
		h.log.Warn("dashboard: store unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1") // as the API does: retry, soon
		h.renderError(w, r, rq, http.StatusServiceUnavailable)
	default:
		h.log.Error("dashboard: request failed", "path", r.URL.Path, "err", err)
		h.renderError(w, r, rq, http.StatusInternalServerError)
	}
}

// root sends a signed-in user to the mode they used last, anyone else to
// the sign-in page.
func (h *handler) root(w http.ResponseWriter, r *http.Request) {
	if _, err := h.loadSession(r.Context(), r); err != nil {
		http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
		return
	}
	mode := amp.ModeTest
	if c, err := r.Cookie(modeCookieName); err == nil && amp.Mode(c.Value).Valid() {
		mode = amp.Mode(c.Value)
	}
	http.Redirect(w, r, modePath(mode, "keys"), http.StatusSeeOther)
}

func (h *handler) modeRoot(w http.ResponseWriter, r *http.Request, rq *request) error {
	http.Redirect(w, r, modePath(rq.mode, "keys"), http.StatusSeeOther)
	return nil
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	var rq *request
	if s, err := h.loadSession(r.Context(), r); err == nil {
		rq = &request{session: s, mode: amp.ModeTest, csrf: csrfToken(s.token)}
	}
	h.renderError(w, r, rq, http.StatusNotFound)
}

// modePath is the path of a page in a mode: modePath("test", "keys") is
// "/dashboard/test/keys".
func modePath(m amp.Mode, page string) string {
	return Prefix + "/" + string(m) + "/" + page
}
