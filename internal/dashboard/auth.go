package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// Sign-up, sign-in and sign-out pages. The rules (what a valid email and
// password are, throttling, how an unknown email is made to look like a
// wrong password, sessions) are the service's (internal/service,
// users.go); these handlers check the form's CSRF token, call one service
// method and render its answer.

// authPage is the data of the sign-in and sign-up pages.
type authPage struct {
	// Challenge is the half-done sign-in awaiting a second factor.
	Challenge   string
	Email       string
	AccountName string
	Next        string
	Error       string
	Flash       string
	AllowSignup bool
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
	if _, err := h.session(r); err == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	data := &authPage{Next: safeNext(r.URL.Query().Get("next")), AllowSignup: h.svc.SignupOpen()}
	switch r.URL.Query().Get("done") {
	case "signed-out":
		data.Flash = "You have signed out."
	case "reset":
		data.Flash = "Password changed, and every session of this login signed out. Sign in with the new password."
	}
	h.renderAuth(w, r, http.StatusOK, "login", data)
}

func (h *handler) signupPage(w http.ResponseWriter, r *http.Request) {
	if !h.svc.SignupOpen() {
		h.renderAuth(w, r, http.StatusNotFound, "signup", &authPage{Error: service.MsgSignupClosed})
		return
	}
	if _, err := h.session(r); err == nil {
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
	if err != nil || !service.ValidToken(c.Value) {
		return false
	}
	return csrfValid(c.Value, r.PostFormValue("csrf_token"))
}

// refused renders the sign-in or sign-up page with the service's answer:
// its message and the status of its code, with Retry-After when throttled.
// A failure of the server itself is a failure page.
func (h *handler) refused(w http.ResponseWriter, r *http.Request, page string, data *authPage, err error) {
	code := amp.ErrorCode(err)
	status := httpx.Status(code)
	if status >= 500 {
		h.fail(w, r, nil, err)
		return
	}
	httpx.FromContext(r.Context()).Code = code
	setRetryAfter(w, err)
	data.Error = amp.ErrorMessage(err)
	h.renderAuth(w, r, status, page, data)
}

// setRetryAfter tells a throttled browser when to try again, from the
// service's details.retryAfter.
func setRetryAfter(w http.ResponseWriter, err error) {
	if amp.ErrorCode(err) == amp.CodeRateLimitExceeded {
		secs, _ := amp.ErrorDetails(err)["retryAfter"].(int)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	email := amp.NormalizeEmail(r.PostFormValue("email"))
	data := &authPage{Email: email, Next: safeNext(r.PostFormValue("next")), AllowSignup: h.svc.SignupOpen()}
	if !h.checkPreSessionCSRF(r) {
		h.log.Warn("dashboard: sign-in form with a bad csrf token", "request_id", httpx.FromContext(r.Context()).ID)
		data.Error = "This form has expired. Please try again."
		h.renderAuth(w, r, http.StatusForbidden, "login", data)
		return
	}
	s, err := h.svc.SignIn(r.Context(), service.SignInAttempt{
		Email: email, Password: r.PostFormValue("password"), ClientIP: httpx.RequestClientIP(r),
		Device: h.deviceToken(r), Replaces: h.sessionToken(r),
	})
	var sf *service.SecondFactorNeeded
	if errors.As(err, &sf) {
		data.Challenge = sf.Challenge
		h.renderPublic(w, r, http.StatusOK, "login_code", "Two-factor sign-in", data, "", "")
		return
	}
	if err != nil {
		h.refused(w, r, "login", data, err)
		return
	}
	h.signedIn(w, s)
	dest := data.Next
	if dest == "" {
		dest = Prefix + "/"
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// loginCode finishes a two-factor sign-in with a code.
func (h *handler) loginCode(w http.ResponseWriter, r *http.Request) {
	data := &authPage{Challenge: r.PostFormValue("challenge"), Next: safeNext(r.PostFormValue("next"))}
	if !h.checkPreSessionCSRF(r) {
		data.Error = "This form has expired. Please try again."
		h.renderPublic(w, r, http.StatusForbidden, "login_code", "Two-factor sign-in", data, data.Error, "")
		return
	}
	s, err := h.svc.SignInSecondFactor(r.Context(), data.Challenge, r.PostFormValue("code"), httpx.RequestClientIP(r), h.sessionToken(r))
	if err != nil {
		page := "login_code"
		if amp.ErrorCode(err) == amp.CodeNotFound {
			// The challenge is gone: back to the password.
			page, data.Challenge = "login", ""
		}
		code := amp.ErrorCode(err)
		status := httpx.Status(code)
		if status >= 500 {
			h.fail(w, r, nil, err)
			return
		}
		httpx.FromContext(r.Context()).Code = code
		if code == amp.CodeRateLimitExceeded {
			secs, _ := amp.ErrorDetails(err)["retryAfter"].(int)
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		}
		data.AllowSignup = h.svc.SignupOpen()
		data.Error = amp.ErrorMessage(err)
		title := "Two-factor sign-in"
		if page == "login" {
			title = "Sign in"
		}
		h.renderPublic(w, r, status, page, title, data, data.Error, "")
		return
	}
	h.signedIn(w, s)
	dest := data.Next
	if dest == "" {
		dest = Prefix + "/"
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

func (h *handler) signup(w http.ResponseWriter, r *http.Request) {
	if !h.svc.SignupOpen() {
		h.renderAuth(w, r, http.StatusNotFound, "signup", &authPage{Error: service.MsgSignupClosed})
		return
	}
	req := service.SignUp{
		Email:       r.PostFormValue("email"),
		Password:    r.PostFormValue("password"),
		AccountName: r.PostFormValue("account_name"),
		ClientIP:    httpx.RequestClientIP(r),
		Replaces:    h.sessionToken(r),
	}
	data := &authPage{Email: amp.NormalizeEmail(req.Email), AccountName: amp.NormalizeName(req.AccountName), AllowSignup: true}
	if !h.checkPreSessionCSRF(r) {
		h.log.Warn("dashboard: sign-up form with a bad csrf token", "request_id", httpx.FromContext(r.Context()).ID)
		data.Error = "This form has expired. Please try again."
		h.renderAuth(w, r, http.StatusForbidden, "signup", data)
		return
	}
	s, err := h.svc.SignUp(r.Context(), req)
	if err != nil {
		h.refused(w, r, "signup", data, err)
		return
	}
	h.signedIn(w, s)
	http.Redirect(w, r, modePath(amp.ModeTest, "keys")+"?done=welcome", http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.SignOut(r.Context(), rq.sess); err != nil {
		return err
	}
	h.clearCookie(w, h.sessionCookieName())
	http.Redirect(w, r, Prefix+"/login?done=signed-out", http.StatusSeeOther)
	return nil
}
