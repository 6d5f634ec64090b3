package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// planRow is one plan of the comparison table.
type planRow struct {
	Plan    amp.Plan
	Rate    string
	Quota   string
	Current bool
}

type planPage struct {
	Plans    []planRow
	Rate     int
	Quota    *service.QuotaUsage
	HasQuota bool
}

type settingsPage struct {
	Name           string
	HoldoutPercent string
	Idle, Lifetime string // the session timeouts, in words
	TwoFactor      twoFactorState
}

func (h *handler) planPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	a := rq.account
	data := &planPage{Rate: a.Plan.Rate(a.CustomRate)}
	for _, p := range []amp.Plan{amp.PlanStarter, amp.PlanPro, amp.PlanEnterprise} {
		row := planRow{Plan: p, Rate: fmtNum(p.Rate(0)) + "/s", Quota: fmtNum(p.MonthlyQuota()), Current: p == a.Plan}
		if p == amp.PlanEnterprise {
			row.Rate = "custom (default " + fmtNum(amp.DefaultEnterpriseRate) + "/s)"
		}
		if p.MonthlyQuota() == 0 {
			row.Quota = "unlimited"
		}
		data.Plans = append(data.Plans, row)
	}
	q, err := h.svc.QuotaUsage(r.Context(), a)
	if err != nil {
		return err
	}
	data.Quota, data.HasQuota = q, q != nil
	return h.render(w, http.StatusOK, "plan", h.page(rq, "plan", "Plan", data))
}

func (h *handler) settingsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	data := h.settingsData(rq.account.Name, strconv.Itoa(rq.account.HoldoutPercent))
	if err := h.twoFactorData(r, rq, data); err != nil {
		return err
	}
	pd := h.page(rq, "settings", "Settings", data)
	switch r.URL.Query().Get("done") {
	case "two-factor-required":
		pd.Error = "The account's owner requires two-factor sign-in. Set it up below to continue."
	case "two-factor-off":
		pd.Flash = "Two-factor sign-in is off."
	case "two-factor-required-on":
		pd.Flash = "Every member must now sign in with two factors; those without it set it up at their next page."
	case "two-factor-required-off":
		pd.Flash = "Two-factor sign-in is no longer required."
	case "account":
		pd.Flash = "Account settings saved."
	case "password":
		pd.Flash = "Password changed. Every other session was signed out."
	case "sessions":
		pd.Flash = "Every other session was signed out."
	}
	return h.render(w, http.StatusOK, "settings", pd)
}

func (h *handler) settingsData(name, holdout string) *settingsPage {
	idle, lifetime := h.svc.SessionTimeouts()
	return &settingsPage{Name: name, HoldoutPercent: holdout, Idle: inWords(idle), Lifetime: inWords(lifetime)}
}

// inWords writes a duration in the largest whole unit: "12 hours", "7 days".
func inWords(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d.Round(time.Minute)/time.Minute), "minute")
}

// updateAccount saves the account's name and holdout. The form only
// parses the holdout's number; the rules are the service's.
func (h *handler) updateAccount(w http.ResponseWriter, r *http.Request, rq *request) error {
	form := h.settingsData(amp.NormalizeName(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("holdout_percent")))
	holdout, err := strconv.Atoi(form.HoldoutPercent)
	if err != nil {
		// What is not a whole number is out of range: the service's
		// message says what is allowed.
		holdout = -1
	}
	_, err = h.svc.UpdateAccountAs(r.Context(), rq.sess, func(a *amp.Account) error {
		a.Name, a.HoldoutPercent = form.Name, holdout
		return nil
	})
	if err != nil {
		return h.settingsProblem(w, r, rq, form, err)
	}
	h.log.Info("dashboard: account settings changed", "user_id", rq.user.ID, "account_id", rq.account.ID, "holdout_percent", holdout)
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=account", http.StatusSeeOther)
	return nil
}

// settingsProblem renders the settings page with the service's refusal, or
// returns a failure of the server.
func (h *handler) settingsProblem(w http.ResponseWriter, r *http.Request, rq *request, form *settingsPage, err error) error {
	status := httpx.Status(amp.ErrorCode(err))
	if status >= 500 || status == http.StatusNotFound {
		return err
	}
	setRetryAfter(w, err)
	if terr := h.twoFactorData(r, rq, form); terr != nil {
		return terr
	}
	pd := h.page(rq, "settings", "Settings", form)
	if field, _ := amp.ErrorDetails(err)["field"].(string); field != "" {
		form.TwoFactor.FieldErrors = map[string]string{field: amp.ErrorMessage(err)}
	}
	pd.Error = amp.ErrorMessage(err)
	return h.render(w, status, "settings", pd)
}

// changePassword replaces the password after checking the current one.
// The service ends every session of the user, this one included, and
// starts a new one for this browser: whoever else knew the old password is
// out.
func (h *handler) changePassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	settings := h.settingsData(rq.account.Name, strconv.Itoa(rq.account.HoldoutPercent))
	s, err := h.svc.ChangePassword(r.Context(), rq.sess, r.PostFormValue("current_password"), r.PostFormValue("new_password"), httpx.RequestClientIP(r))
	if err != nil {
		return h.settingsProblem(w, r, rq, settings, err)
	}
	h.signedIn(w, s)
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=password", http.StatusSeeOther)
	return nil
}

func (h *handler) endOtherSessions(w http.ResponseWriter, r *http.Request, rq *request) error {
	if _, err := h.svc.EndOtherSessions(r.Context(), rq.sess); err != nil {
		return err
	}
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=sessions", http.StatusSeeOther)
	return nil
}
