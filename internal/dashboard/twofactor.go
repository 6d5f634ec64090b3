package dashboard

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// Two-factor sign-in on the settings page. Setting it up takes two posts:
// the first draws a secret and shows it (QR code and text) with a code
// field, the second checks a code of it, turns it on and shows the
// recovery codes, once. The pending secret travels in a hidden field of
// the form: it is the user's own, shown to them anyway, and stored only
// once a code proves their app has it.

type twoFactorState struct {
	On         bool
	CodesLeft  int
	Required   bool // the account requires it
	CanRequire bool // the session may change that (the owner)
	// Setup is a secret being set up.
	Setup  string
	SetupQ template.URL // the QR code, a data: URL
	URL    string
	// RecoveryCodes are shown once, right after setup.
	RecoveryCodes []string
	FieldErrors   map[string]string
}

func (h *handler) twoFactorData(r *http.Request, rq *request, sp *settingsPage) error {
	tf := &sp.TwoFactor
	tf.On, tf.Required, tf.CanRequire = rq.user.TOTPSecret != "", rq.sess.TwoFactorRequired, h.svc.Can(rq.sess, amp.PermEnforce2FA)
	if tf.On {
		n, err := h.svc.RecoveryCodesLeft(r.Context(), rq.sess)
		if err != nil {
			return err
		}
		tf.CodesLeft = n
	}
	return nil
}

func (h *handler) settingsFor(r *http.Request, rq *request) (*settingsPage, error) {
	sp := h.settingsData(rq.account.Name, strconv.Itoa(rq.account.HoldoutPercent))
	return sp, h.twoFactorData(r, rq, sp)
}

// beginTwoFactor answers the "Set up" button with the setup page (post,
// redirect, get): drawing a secret stores nothing, so the page draws one
// at every view, and a reload asks nothing of the browser.
func (h *handler) beginTwoFactor(w http.ResponseWriter, r *http.Request, rq *request) error {
	http.Redirect(w, r, modePath(rq.mode, "settings/two-factor/setup"), http.StatusSeeOther)
	return nil
}

func (h *handler) twoFactorSetupPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	setup, err := h.svc.BeginTwoFactor(r.Context(), rq.sess)
	if err != nil {
		return err
	}
	sp, err := h.settingsFor(r, rq)
	if err != nil {
		return err
	}
	sp.TwoFactor.Setup, sp.TwoFactor.URL = setup.Secret, setup.URL
	// Only a PNG the server drew goes in: a safe data URL.
	sp.TwoFactor.SetupQ = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(setup.QR))
	return h.render(w, http.StatusOK, "settings", h.page(rq, "settings", "Settings", sp))
}

func (h *handler) enableTwoFactor(w http.ResponseWriter, r *http.Request, rq *request) error {
	secret := r.PostFormValue("secret")
	codes, err := h.svc.EnableTwoFactor(r.Context(), rq.sess, secret, r.PostFormValue("code"))
	sp, derr := h.settingsFor(r, rq)
	if derr != nil {
		return derr
	}
	if err != nil {
		if httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
			return err
		}
		// Keep the setup on screen, with the error next to the code.
		setup := secret
		sp.TwoFactor.Setup = setup
		return h.settingsProblem(w, r, rq, sp, err)
	}
	h.log.Info("dashboard: two-factor sign-in turned on", "user_id", rq.user.ID)
	// The codes go to the one page that shows them (post, redirect, get),
	// as a new key's secret does: a reload neither resends the code nor
	// shows them again.
	h.setOnce(w, recoveryCodesCookie, strings.Join(codes, " "), recoveryCodesPath(rq.mode))
	http.Redirect(w, r, recoveryCodesPath(rq.mode), http.StatusSeeOther)
	return nil
}

// recoveryCodesCookie carries the recovery codes from the post that made
// them to the page that shows them once (see setOnce).
const recoveryCodesCookie = "amp_recovery_codes"

func recoveryCodesPath(m amp.Mode) string { return modePath(m, "settings/two-factor/codes") }

func (h *handler) recoveryCodesPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	sp, err := h.settingsFor(r, rq)
	if err != nil {
		return err
	}
	codes := strings.Fields(h.takeOnce(w, r, recoveryCodesCookie, recoveryCodesPath(rq.mode)))
	pd := h.page(rq, "settings", "Settings", sp)
	switch {
	case len(codes) == service.RecoveryCodeCount && sp.TwoFactor.On:
		sp.TwoFactor.RecoveryCodes = codes
		pd.Flash = "Two-factor sign-in is on. Save your recovery codes now: they are shown only this once."
	case sp.TwoFactor.On:
		pd.Flash = "Two-factor sign-in is on. Your recovery codes were shown once; if you did not save them, set two-factor sign-in up again for new ones."
	}
	return h.render(w, http.StatusOK, "settings", pd)
}

func (h *handler) disableTwoFactor(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.DisableTwoFactor(r.Context(), rq.sess, r.PostFormValue("password"), httpx.RequestClientIP(r)); err != nil {
		if s := httpx.Status(amp.ErrorCode(err)); s >= 500 || s == http.StatusForbidden {
			return err
		}
		sp, derr := h.settingsFor(r, rq)
		if derr != nil {
			return derr
		}
		return h.settingsProblem(w, r, rq, sp, err)
	}
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=two-factor-off", http.StatusSeeOther)
	return nil
}

func (h *handler) requireTwoFactor(w http.ResponseWriter, r *http.Request, rq *request) error {
	on := r.PostFormValue("required") == "true"
	if err := h.svc.RequireTwoFactor(r.Context(), rq.sess, on); err != nil {
		if httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
			return err
		}
		sp, derr := h.settingsFor(r, rq)
		if derr != nil {
			return derr
		}
		return h.settingsProblem(w, r, rq, sp, err)
	}
	done := "two-factor-required-off"
	if on {
		done = "two-factor-required-on"
	}
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done="+done, http.StatusSeeOther)
	return nil
}
