package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// Prefix is the path under which the dashboard serves everything.
const Prefix = "/dashboard"

// maxFormBytes bounds the body of every form post.
const maxFormBytes = 64 << 10

// Config configures the dashboard. The zero value is usable. Who may sign
// up, how passwords are hashed, how long sessions last and where usage is
// read from are the service's settings (service.Config): the dashboard
// only shows what the service decides.
type Config struct {
	// Logger receives failures and security events (refused form posts);
	// never passwords, tokens or keys. Discarded when nil.
	Logger *slog.Logger
	// Secure marks cookies Secure (and gives them the __Host- prefix). Set it
	// when the dashboard is served over TLS, directly or behind a
	// TLS-terminating proxy.
	Secure bool
	// PublicURL is where users reach the server (https://amp.example.com),
	// for the links of password reset emails. Links shown in the page use
	// the request's own host.
	PublicURL string
	// Circuit reports the state of a webhook endpoint's circuit breaker on
	// this instance ("closed", "open" or "half_open"), for the endpoints
	// page; without it the page shows no circuit state.
	Circuit func(endpointID string) string
	// Lift measures what personalisation adds, for the Profiles page's
	// learning card when the account has a holdout; without it the card
	// says that lift is not measured.
	Lift LiftFunc
}

// handler is the dashboard.
type handler struct {
	svc *service.Service
	cfg Config
	log *slog.Logger

	cop   *http.CrossOriginProtection
	pages *pages
	mux   *http.ServeMux
}

// New returns the dashboard's handler, which serves every path under
// /dashboard/. Mount it behind the API's middleware chain, which gives its
// requests their id, access-log line, metrics and panic recovery:
//
//	api.Mount(dashboard.Prefix, dashboard.New(svc, cfg))
//
// Sending "/" to "/dashboard/" is the server's decision, not the
// dashboard's. New panics if the embedded templates do not parse, which is
// a programming error; use Build to get an error.
func New(svc *service.Service, cfg Config) http.Handler {
	h, err := Build(svc, cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// Build is New with an error instead of a panic.
func Build(svc *service.Service, cfg Config) (http.Handler, error) {
	if svc == nil {
		return nil, errors.New("dashboard: a service is required")
	}
	h := &handler{svc: svc, cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.cop = http.NewCrossOriginProtection()
	h.cop.SetDenyHandler(http.HandlerFunc(h.crossOriginDenied))
	var err error
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
	mux.HandleFunc("POST "+Prefix+"/switch", h.authed("", h.switchAccount))
	mux.HandleFunc("POST "+Prefix+"/login/code", h.loginCode)
	mux.HandleFunc("GET "+Prefix+"/join", h.joinPage)
	mux.HandleFunc("POST "+Prefix+"/join", h.join)
	mux.HandleFunc("POST "+Prefix+"/join/as", h.authed("", h.joinAs))
	mux.HandleFunc("GET "+Prefix+"/reset", h.resetPage)
	mux.HandleFunc("POST "+Prefix+"/reset", h.reset)
	mux.HandleFunc("GET "+Prefix+"/forgot", h.forgotPage)
	mux.HandleFunc("POST "+Prefix+"/forgot", h.forgot)
	// Every page of the signed-in dashboard exists once per mode, with the
	// mode in its path: a tab stays in the mode it shows, and forms post to
	// the mode they were rendered in.
	for _, m := range []amp.Mode{amp.ModeTest, amp.ModeLive} {
		p := Prefix + "/" + string(m)
		mux.HandleFunc("GET "+p+"/{$}", h.authed(m, h.modeRoot))
		mux.HandleFunc("GET "+p+"/keys", h.authed(m, h.keysPage))
		mux.HandleFunc("POST "+p+"/keys", h.authed(m, h.createKey))
		mux.HandleFunc("GET "+p+"/keys/{id}/created", h.authed(m, h.keyCreated))
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
		mux.HandleFunc("GET "+p+"/members", h.authed(m, h.membersPage))
		mux.HandleFunc("POST "+p+"/members/invite", h.authed(m, h.invite))
		mux.HandleFunc("GET "+p+"/members/invited/{hash}", h.authed(m, h.invited))
		mux.HandleFunc("POST "+p+"/members/invitations/revoke", h.authed(m, h.revokeInvitation))
		mux.HandleFunc("POST "+p+"/members/{id}/role", h.authed(m, h.changeRole))
		mux.HandleFunc("POST "+p+"/members/{id}/remove", h.authed(m, h.removeMember))
		mux.HandleFunc("POST "+p+"/members/{id}/transfer", h.authed(m, h.transferOwnership))
		mux.HandleFunc("GET "+p+"/audit", h.authed(m, h.auditPage))
		mux.HandleFunc("GET "+p+"/requests", h.authed(m, h.requestsPage))
		mux.HandleFunc("POST "+p+"/settings/two-factor", h.authed(m, h.beginTwoFactor))
		mux.HandleFunc("GET "+p+"/settings/two-factor/setup", h.authed(m, h.twoFactorSetupPage))
		mux.HandleFunc("POST "+p+"/settings/two-factor/enable", h.authed(m, h.enableTwoFactor))
		mux.HandleFunc("GET "+p+"/settings/two-factor/codes", h.authed(m, h.recoveryCodesPage))
		mux.HandleFunc("POST "+p+"/settings/two-factor/disable", h.authed(m, h.disableTwoFactor))
		mux.HandleFunc("POST "+p+"/settings/two-factor/require", h.authed(m, h.requireTwoFactor))
		h.webhookRoutes(mux, m, p)
	}
	mux.HandleFunc(Prefix+"/", h.notFound)
	h.mux = mux
}

// ServeHTTP implements http.Handler: security headers, the route's name
// for the chain's log and metrics, and the cross-origin check, then the
// routes. Request ids, logging, metrics and panic recovery are the chain's
// (internal/httpapi), shared with the API.
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
	if p := r.URL.EscapedPath(); p != httpx.CleanPath(p) {
		// The mux would redirect; a path with dot or empty segments is
		// not a page.
		h.notFound(w, r)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if _, pattern := h.mux.Handler(r); pattern != "" && pattern != Prefix+"/" {
		// The catch-all stays unnamed: an unknown path is "unmatched".
		httpx.SetRoute(r, pattern)
	}
	if !formText(r) {
		h.renderErrorMessage(w, r, nil, http.StatusBadRequest, "The form holds text that is not valid UTF-8 or contains NUL characters.")
		return
	}
	h.cop.Handler(h.mux).ServeHTTP(w, r)
}

// ServeError implements httpx.ErrorPage: the chain calls it to answer a
// request of the dashboard that panicked.
func (h *handler) ServeError(w http.ResponseWriter, r *http.Request, status int) {
	h.renderError(w, r, nil, status)
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
	sess    *service.Session
	user    *amp.DashboardUser
	account *amp.Account
	mode    amp.Mode
	csrf    string
	// quarantined are the account's quarantined keys of mode, for the
	// banner of every page.
	quarantined []*amp.APIKey
}

func newRequest(sess *service.Session, mode amp.Mode) *request {
	if mode == "" {
		mode = amp.ModeTest
	}
	return &request{sess: sess, user: sess.User, account: sess.Account(), mode: mode, csrf: csrfToken(sess.Token)}
}

func (rq *request) tenant() amp.Tenant { return rq.sess.Tenant(rq.mode) }

type pageFunc func(w http.ResponseWriter, r *http.Request, rq *request) error

// authed wraps a page that needs a signed-in user: without a session, a
// GET goes to the sign-in page and comes back after it; any POST must carry
// the session's CSRF token. mode is the page's mode ("" for pages that have
// none).
func (h *handler) authed(mode amp.Mode, fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.session(r)
		if errors.Is(err, service.ErrNoSession) {
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
		rq := newRequest(s, mode)
		info := httpx.FromContext(r.Context())
		info.UserID, info.AccountID = rq.user.ID, rq.account.ID
		if mode != "" {
			info.Mode = string(mode)
		}
		if r.Method == http.MethodPost && !csrfValid(s.Token, r.PostFormValue("csrf_token")) {
			h.log.Warn("dashboard: form post with a bad csrf token", "request_id", info.ID, "user_id", rq.user.ID)
			h.renderError(w, r, rq, http.StatusForbidden)
			return
		}
		if mode != "" {
			if c, err := r.Cookie(modeCookieName); err != nil || c.Value != string(mode) {
				http.SetCookie(w, &http.Cookie{Name: modeCookieName, Value: string(mode), Path: Prefix + "/",
					MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
			}
		}
		if s.NeedsTwoFactorSetup && r.Method == http.MethodGet && mode != "" && r.URL.Path != modePath(mode, "settings") &&
			!strings.HasPrefix(r.URL.Path, modePath(mode, "settings/two-factor/")) {
			// The owner requires two-factor sign-in: nothing else until
			// it is set up (the service refuses every action too).
			http.Redirect(w, r, modePath(mode, "settings")+"?done=two-factor-required", http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if mode != "" {
			h.loadQuarantine(r, rq)
		}
		if err := fn(w, r, rq); err != nil {
			h.fail(w, r, rq, err)
		}
	}
}

// fail answers an error of a page handler with the status of its code,
// from the one table the API uses too (httpx.Status). A client mistake
// shows the service's message, which is written for the user; a server
// failure is logged and shown as a generic failure.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		h.renderError(w, r, rq, http.StatusRequestEntityTooLarge)
		return
	}
	code := amp.ErrorCode(err)
	status := httpx.Status(code)
	info := httpx.FromContext(r.Context())
	info.Code = code
	switch {
	case status == http.StatusServiceUnavailable:
		h.log.Warn("dashboard: store unavailable", "request_id", info.ID, "route", info.Route, "err", err)
		w.Header().Set("Retry-After", "1") // as the API does: retry, soon
		h.renderError(w, r, rq, status)
	case status >= 500:
		info.Code = amp.CodeInternal
		h.log.Error("dashboard: request failed", "request_id", info.ID, "route", info.Route, "err", err)
		h.renderError(w, r, rq, http.StatusInternalServerError)
	case status == http.StatusNotFound:
		// The message says what is missing ("No such API key.", "Unknown
		// window …"), never whether it exists elsewhere.
		h.renderErrorMessage(w, r, rq, status, amp.ErrorMessage(err))
	default:
		// Forms check their input before calling the service; this is a
		// rule only the service knows, and its message is for the user.
		h.renderErrorMessage(w, r, rq, status, amp.ErrorMessage(err))
	}
}

// root sends a signed-in user to the mode they used last, anyone else to
// the sign-in page.
func (h *handler) root(w http.ResponseWriter, r *http.Request) {
	if _, err := h.session(r); err != nil {
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
	if s, err := h.session(r); err == nil {
		rq = newRequest(s, amp.ModeTest)
	}
	h.renderError(w, r, rq, http.StatusNotFound)
}

// modePath is the path of a page in a mode: modePath("test", "keys") is
// "/dashboard/test/keys".
func modePath(m amp.Mode, page string) string {
	return Prefix + "/" + string(m) + "/" + page
}
