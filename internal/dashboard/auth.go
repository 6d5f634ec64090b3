package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
)

// Sign-up, sign-in and sign-out.
//
// No account enumeration: a sign-in with an unknown email and one with a
// wrong password get the same page, status and message, and take the same
// time, because the unknown email's password is verified against a dummy
// argon2id hash with the current parameters. Throttled attempts get the same
// answer whether the email exists or not, since the per-email buckets are
// keyed by whatever was typed.
//
// Sign-up cannot hide everything without email: creating an account with a
// fresh address succeeds, and with a taken one it cannot. The answer for a
// taken address is the same generic failure as for any other refused
// sign-up ("we could not create an account with these details"), it never
// says the address is taken, it costs the same argon2id hash, and every
// sign-up attempt spends from the per-IP sign-in budget, so probing
// addresses through sign-up is exactly as slow as guessing passwords
// through sign-in. Private deployments turn sign-up off (Config.AllowSignup)
// and then nothing can be learnt from it.

// Bounds of sign-up input.
const (
	maxEmailBytes       = 254 // RFC 5321's limit on a path
	maxAccountNameBytes = 100
)

const (
	msgBadLogin    = "Incorrect email or password."
	msgSignupFail  = "We could not create an account with these details. If you already have an account, sign in instead."
	msgSignupClose = "Sign-up is closed on this server. Ask its operator for an account."
)

// authPage is the data of the sign-in and sign-up pages.
type authPage struct {
	Email       string
	AccountName string
	Next        string
	Error       string
	Flash       string
	AllowSignup bool
}

// normalizeEmail trims and lower-cases an email. Lower-casing the local part
// is not strictly RFC 5321, but no mail provider in use distinguishes case,
// and two accounts differing only by case would be a trap.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// emailProblem checks the shape of a normalised email (one address, no
// display name, a dot in the domain) and returns what is wrong with it for
// the user, or "".
func emailProblem(email string) string {
	const msg = "Enter a valid email address."
	if email == "" || len(email) > maxEmailBytes || !utf8.ValidString(email) {
		return msg
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return msg
	}
	_, domain, _ := strings.Cut(email, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return msg
	}
	return ""
}

// passwordProblem checks a new password's length and content and returns
// what is wrong with it for the user, or "".
func passwordProblem(pw string) string {
	switch {
	case !utf8.ValidString(pw):
		return "The password must be valid text."
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Sprintf("Choose a password of at least %d characters.", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Sprintf("Choose a password of at most %d bytes.", MaxPasswordLen)
	case strings.IndexFunc(pw, unicode.IsControl) >= 0:
		return "The password must not contain control characters."
	}
	return ""
}

// safeNext returns next if it is a path of the dashboard, and "" otherwise,
// so that the sign-in page cannot be used to send people elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

func loginURL(next string) string {
	if next = safeNext(next); next == "" {
		return Prefix + "/login"
	}
	return Prefix + "/login?next=" + url.QueryEscape(next)
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := h.loadSession(r.Context(), r); err == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	data := &authPage{Next: safeNext(r.URL.Query().Get("next")), AllowSignup: h.cfg.AllowSignup}
	if r.URL.Query().Get("done") == "signed-out" {
		data.Flash = "You have signed out."
	}
	h.renderAuth(w, r, http.StatusOK, "login", data)
}

func (h *handler) signupPage(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.AllowSignup {
		h.renderAuth(w, r, http.StatusNotFound, "signup", &authPage{Error: msgSignupClose})
		return
	}
	if _, err := h.loadSession(r.Context(), r); err == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	h.renderAuth(w, r, http.StatusOK, "signup", &authPage{AllowSignup: true})
}

// checkPreSessionCSRF checks the token of a sign-in or sign-up form against
// the browser's pre-session cookie. It also blocks login CSRF: another site
// signing a victim's browser in to the attacker's account.
func (h *handler) checkPreSessionCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.csrfCookieName())
	if err != nil || !validToken(c.Value) {
		return false
	}
	return csrfValid(c.Value, r.PostFormValue("csrf_token"))
}

// throttled renders the "too many attempts" answer.
func (h *handler) throttled(w http.ResponseWriter, r *http.Request, page string, data *authPage, wait time.Duration) {
	mins := int(math.Ceil(wait.Minutes()))
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	if mins <= 1 {
		data.Error = "Too many attempts. Wait a minute, then try again."
	} else {
		data.Error = fmt.Sprintf("Too many attempts. Wait %d minutes, then try again.", mins)
	}
	h.renderAuth(w, r, http.StatusTooManyRequests, page, data)
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := normalizeEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	data := &authPage{Email: email, Next: safeNext(r.PostFormValue("next")), AllowSignup: h.cfg.AllowSignup}
	if !h.checkPreSessionCSRF(r) {
		h.log.Warn("dashboard: sign-in form with a bad csrf token")
		data.Error = "This form has expired. Please try again."
		h.renderAuth(w, r, http.StatusForbidden, "login", data)
		return
	}
	ip, device := clientIP(r, h.cfg.TrustedProxies), h.device(r)
	now := h.now()
	if wait := h.throttle.wait(email, ip, device, now); wait > 0 {
		h.log.Warn("dashboard: sign-in throttled", "client_ip", ip)
		h.throttled(w, r, "login", data, wait)
		return
	}
	u, ok, err := h.checkPassword(ctx, email, password)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if !ok {
		h.throttle.fail(email, ip, device, now)
		h.log.Info("dashboard: sign-in failed", "client_ip", ip)
		data.Error = msgBadLogin
		h.renderAuth(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	if tok := h.throttle.succeed(email, ip, device, now); tok != "" {
		h.setCookie(w, h.deviceCookieName(), tok, deviceCookieMaxAge, http.SameSiteStrictMode)
	}
	if err := h.startSession(ctx, w, r, u); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.log.Info("dashboard: signed in", "user_id", u.ID, "account_id", u.AccountID, "client_ip", ip)
	dest := data.Next
	if dest == "" {
		dest = Prefix + "/"
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// checkPassword returns the user whose email and password these are. An
// unknown email costs one argon2id verification, as a known one does. A
// correct password stored with outdated parameters is rehashed.
func (h *handler) checkPassword(ctx context.Context, email, password string) (*amp.DashboardUser, bool, error) {
	if len(password) > MaxPasswordLen {
		// Refused without hashing, known email or not: the same for both.
		return nil, false, nil
	}
	u, err := h.store.DashboardUserByEmail(ctx, email)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, false, h.hash.burn(ctx, password)
	}
	if err != nil {
		return nil, false, err
	}
	ok, rehash, err := h.hash.verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, false, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return nil, false, nil
	}
	if rehash {
		if enc, err := h.hash.hash(ctx, password); err == nil {
			// Not a password change: PasswordChangedAt stays, so that no
			// session ends.
			if err := h.store.SetDashboardPassword(ctx, u.ID, enc, u.PasswordChangedAt); err != nil {
				h.log.Warn("dashboard: rehashing a password failed", "user_id", u.ID, "err", err)
			}
		}
	}
	return u, true, nil
}

func (h *handler) signup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.cfg.AllowSignup {
		h.renderAuth(w, r, http.StatusNotFound, "signup", &authPage{Error: msgSignupClose})
		return
	}
	email := normalizeEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	name := strings.TrimSpace(r.PostFormValue("account_name"))
	data := &authPage{Email: email, AccountName: name, AllowSignup: true}
	if !h.checkPreSessionCSRF(r) {
		h.log.Warn("dashboard: sign-up form with a bad csrf token")
		data.Error = "This form has expired. Please try again."
		h.renderAuth(w, r, http.StatusForbidden, "signup", data)
		return
	}
	ip := clientIP(r, h.cfg.TrustedProxies)
	now := h.now()
	if wait := h.throttle.wait("", ip, "", now); wait > 0 {
		h.log.Warn("dashboard: sign-up throttled", "client_ip", ip)
		h.throttled(w, r, "signup", data, wait)
		return
	}
	// Form mistakes say what is wrong: they depend only on what was typed.
	if msg := cmp.Or(emailProblem(email), passwordProblem(password)); msg != "" {
		data.Error = msg
		h.renderAuth(w, r, http.StatusBadRequest, "signup", data)
		return
	}
	if name == "" {
		name = email
	}
	if len(name) > maxAccountNameBytes || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		data.Error = fmt.Sprintf("Choose an account name of at most %d bytes, without control characters.", maxAccountNameBytes)
		h.renderAuth(w, r, http.StatusBadRequest, "signup", data)
		return
	}
	// Every sign-up attempt spends from the IP's budget: it bounds both
	// probing for taken addresses and mass account creation.
	h.throttle.fail("", ip, "", now)
	u, err := h.createUser(ctx, email, password, name, "")
	switch {
	case errors.Is(err, amp.ErrConflict):
		h.log.Info("dashboard: sign-up refused", "client_ip", ip)
		data.Error = msgSignupFail
		h.renderAuth(w, r, http.StatusBadRequest, "signup", data)
		return
	case err != nil:
		h.fail(w, r, nil, err)
		return
	}
	if err := h.startSession(ctx, w, r, u); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.log.Info("dashboard: signed up", "user_id", u.ID, "account_id", u.AccountID, "client_ip", ip)
	http.Redirect(w, r, modePath(amp.ModeTest, "keys")+"?done=welcome", http.StatusSeeOther)
}

// createUser hashes the password and stores a user: with a new account
// named accountName, or owning the existing accountID. A taken email gives
// amp.ErrConflict, after the same hashing work as a free one.
func (h *handler) createUser(ctx context.Context, email, password, accountName, accountID string) (*amp.DashboardUser, error) {
	enc, err := h.hash.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	id, err := amp.RandomID(h.random, "usr_", 16)
	if err != nil {
		return nil, err
	}
	now := h.now()
	u := &amp.DashboardUser{ID: id, Email: email, PasswordHash: enc, AccountID: accountID, CreatedAt: now, PasswordChangedAt: now}
	var acct *amp.Account
	if accountID == "" {
		if acct, err = h.svc.PrepareAccount(accountName, amp.PlanStarter); err != nil {
			return nil, err
		}
		u.AccountID = acct.ID
	}
	if err := h.store.CreateDashboardUser(ctx, u, acct); err != nil {
		return nil, err
	}
	return u, nil
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.store.DeleteDashboardSession(r.Context(), rq.rec.TokenHash); err != nil {
		return err
	}
	h.clearCookie(w, h.sessionCookieName())
	h.log.Info("dashboard: signed out", "user_id", rq.user.ID)
	http.Redirect(w, r, Prefix+"/login?done=signed-out", http.StatusSeeOther)
	return nil
}
