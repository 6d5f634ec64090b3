package dashboard

import (
	"net/http"
	"net/url"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// One-time links: joining an account by invitation (or the first-run
// setup link), choosing a new password by a reset link, and asking for a
// reset by email. The link's secret travels in the query (?t=), which the
// access log leaves out, and in a hidden field of the form.

type linkPage struct {
	Token       string
	Info        *service.LinkInfo
	Email       string
	FieldErrors map[string]string
	ByEmail     bool // forgot: the server can send email
	Sent        bool
	// SignedIn is the email of the user signed in in this browser, who
	// can join with their login (the form posts with SessionCSRF).
	SignedIn    string
	SessionCSRF string
	// LoginURL signs in and comes back to the link.
	LoginURL string
}

// fieldErrors puts the service's refusal next to the field it names
// (details.field), or next to def.
func fieldErrors(err error, def string) map[string]string {
	field, _ := amp.ErrorDetails(err)["field"].(string)
	if field == "" {
		field = def
	}
	return map[string]string{field: amp.ErrorMessage(err)}
}

func (h *handler) joinPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	info, err := h.svc.Link(r.Context(), tok)
	if err == nil && info.Purpose == amp.TokenReset {
		err = amp.Errorf(amp.CodeNotFound, "%s", service.MsgBadLink)
	}
	if err != nil {
		h.linkRefused(w, r, "join", "Join an account", &linkPage{}, err)
		return
	}
	h.renderPublic(w, r, http.StatusOK, "join", "Join "+info.AccountName, h.joinData(r, tok, info), "", "")
}

// joinData is the join page's data: a browser with a session joins with
// that login, any other chooses a new one or signs in first.
func (h *handler) joinData(r *http.Request, tok string, info *service.LinkInfo) *linkPage {
	data := &linkPage{Token: tok, Info: info, Email: info.Email, LoginURL: loginURL(Prefix + "/join?t=" + url.QueryEscape(tok))}
	if s, err := h.session(r); err == nil {
		data.SignedIn, data.SessionCSRF = s.User.Email, csrfToken(s.Token)
	}
	return data
}

// joinAs uses the link for the signed-in user: their login becomes a
// member of the link's account, and the session acts for it.
func (h *handler) joinAs(w http.ResponseWriter, r *http.Request, rq *request) error {
	tok := r.PostFormValue("t")
	s, err := h.svc.JoinAs(r.Context(), rq.sess, tok)
	if err != nil {
		info, lerr := h.svc.Link(r.Context(), tok)
		if lerr != nil || httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
			return err
		}
		h.renderPublic(w, r, http.StatusBadRequest, "join", "Join "+info.AccountName, h.joinData(r, tok, info), amp.ErrorMessage(err), "")
		return nil
	}
	h.log.Info("dashboard: joined with an existing login", "user_id", rq.user.ID, "account_id", s.Account().ID)
	http.Redirect(w, r, modePath(amp.ModeTest, "keys")+"?done=joined", http.StatusSeeOther)
	return nil
}

// linkRefused renders a link page with the service's answer.
func (h *handler) linkRefused(w http.ResponseWriter, r *http.Request, page, title string, data *linkPage, err error) {
	code := amp.ErrorCode(err)
	status := httpx.Status(code)
	if status >= 500 {
		h.fail(w, r, nil, err)
		return
	}
	httpx.FromContext(r.Context()).Code = code
	msg := amp.ErrorMessage(err)
	if data.Info != nil && status == http.StatusBadRequest {
		// A mistake in the form: said next to its field.
		data.FieldErrors = fieldErrors(err, "password")
		msg = "Check the form below."
	}
	h.renderPublic(w, r, status, page, title, data, msg, "")
}

func (h *handler) join(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("t")
	data := &linkPage{Token: tok, Email: amp.NormalizeEmail(r.PostFormValue("email"))}
	if !h.checkPreSessionCSRF(r) {
		h.renderPublic(w, r, http.StatusForbidden, "join", "Join an account", data, "This form has expired. Please try again.", "")
		return
	}
	info, err := h.svc.Link(r.Context(), tok)
	if err != nil {
		h.linkRefused(w, r, "join", "Join an account", &linkPage{}, err)
		return
	}
	data.Info, data.LoginURL = info, loginURL(Prefix+"/join?t="+url.QueryEscape(tok))
	s, err := h.svc.AcceptInvitation(r.Context(), service.Join{Secret: tok, Email: data.Email, Password: r.PostFormValue("password"),
		ClientIP: httpx.RequestClientIP(r), Replaces: h.sessionToken(r)})
	if err != nil {
		h.linkRefused(w, r, "join", "Join "+info.AccountName, data, err)
		return
	}
	h.signedIn(w, s)
	http.Redirect(w, r, modePath(amp.ModeTest, "keys")+"?done=joined", http.StatusSeeOther)
}

func (h *handler) resetPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	info, err := h.svc.Link(r.Context(), tok)
	if err == nil && info.Purpose != amp.TokenReset {
		err = amp.Errorf(amp.CodeNotFound, "%s", service.MsgBadLink)
	}
	if err != nil {
		h.linkRefused(w, r, "reset", "Choose a new password", &linkPage{}, err)
		return
	}
	h.renderPublic(w, r, http.StatusOK, "reset", "Choose a new password", &linkPage{Token: tok, Info: info}, "", "")
}

func (h *handler) reset(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("t")
	data := &linkPage{Token: tok}
	if !h.checkPreSessionCSRF(r) {
		h.renderPublic(w, r, http.StatusForbidden, "reset", "Choose a new password", data, "This form has expired. Please try again.", "")
		return
	}
	info, err := h.svc.Link(r.Context(), tok)
	if err == nil && info.Purpose != amp.TokenReset {
		err = amp.Errorf(amp.CodeNotFound, "%s", service.MsgBadLink)
	}
	if err != nil {
		h.linkRefused(w, r, "reset", "Choose a new password", &linkPage{}, err)
		return
	}
	data.Info = info
	if err := h.svc.ResetPassword(r.Context(), tok, r.PostFormValue("password"), httpx.RequestClientIP(r)); err != nil {
		h.linkRefused(w, r, "reset", "Choose a new password", data, err)
		return
	}
	// Every session of the user ended, this browser's too.
	h.clearCookie(w, h.sessionCookieName())
	http.Redirect(w, r, Prefix+"/login?done=reset", http.StatusSeeOther)
}

func (h *handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	data := &linkPage{ByEmail: h.svc.PasswordResetByEmail(), Sent: r.URL.Query().Get("done") == "sent"}
	flash := ""
	if data.Sent {
		flash = service.MsgResetRequested
	}
	h.renderPublic(w, r, http.StatusOK, "forgot", "Reset your password", data, "", flash)
}

func (h *handler) forgot(w http.ResponseWriter, r *http.Request) {
	data := &linkPage{ByEmail: h.svc.PasswordResetByEmail(), Email: amp.NormalizeEmail(r.PostFormValue("email"))}
	if !h.checkPreSessionCSRF(r) {
		h.renderPublic(w, r, http.StatusForbidden, "forgot", "Reset your password", data, "This form has expired. Please try again.", "")
		return
	}
	base := h.cfg.PublicURL
	link := func(secret string) string { return base + Prefix + "/reset?t=" + url.QueryEscape(secret) }
	if err := h.svc.RequestPasswordReset(r.Context(), data.Email, httpx.RequestClientIP(r), link); err != nil {
		code := amp.ErrorCode(err)
		status := httpx.Status(code)
		if status >= 500 {
			h.fail(w, r, nil, err)
			return
		}
		httpx.FromContext(r.Context()).Code = code
		if status == http.StatusBadRequest {
			data.FieldErrors = fieldErrors(err, "email")
		}
		h.renderPublic(w, r, status, "forgot", "Reset your password", data, amp.ErrorMessage(err), "")
		return
	}
	http.Redirect(w, r, Prefix+"/forgot?done=sent", http.StatusSeeOther)
}
