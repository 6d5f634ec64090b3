package dashboard

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/amp-protocol/amp"
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
	Quota    *quotaView
	HasQuota bool
}

// quotaView is the month's live usage against the plan's quota.
type quotaView struct {
	Used      int64
	Limit     int64 // 0: unlimited
	Fraction  float64
	ResetsAt  time.Time
	Remaining int64
}

type settingsPage struct {
	Name           string
	HoldoutPercent string
	Idle, Lifetime string // the session timeouts, in words
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
	q, err := h.quota(r, a)
	if err != nil {
		return err
	}
	data.Quota, data.HasQuota = q, q != nil
	return h.render(w, http.StatusOK, "plan", h.page(rq, "plan", "Plan", data))
}

func (h *handler) settingsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	pd := h.page(rq, "settings", "Settings", h.settingsData(rq.account.Name, strconv.Itoa(rq.account.HoldoutPercent)))
	switch r.URL.Query().Get("done") {
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
	return &settingsPage{Name: name, HoldoutPercent: holdout, Idle: inWords(h.cfg.SessionIdle), Lifetime: inWords(h.cfg.SessionLifetime)}
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

func (h *handler) updateAccount(w http.ResponseWriter, r *http.Request, rq *request) error {
	form := h.settingsData(strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("holdout_percent")))
	holdout, err := strconv.Atoi(form.HoldoutPercent)
	problem := ""
	switch {
	case form.Name == "" || len(form.Name) > maxAccountNameBytes || strings.IndexFunc(form.Name, unicode.IsControl) >= 0:
		problem = fmt.Sprintf("The account name is required: at most %d bytes, without control characters.", maxAccountNameBytes)
	case err != nil || holdout < 0 || holdout > 100:
		problem = "The holdout must be a whole percentage from 0 to 100."
	}
	if problem != "" {
		pd := h.page(rq, "settings", "Settings", form)
		pd.Error = problem
		return h.render(w, http.StatusBadRequest, "settings", pd)
	}
	if _, err := h.svc.UpdateAccount(r.Context(), rq.account.ID, func(a *amp.Account) error {
		a.Name, a.HoldoutPercent = form.Name, holdout
		return nil
	}); err != nil {
		return err
	}
	h.log.Info("dashboard: account settings changed", "user_id", rq.user.ID, "account_id", rq.account.ID, "holdout_percent", holdout)
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=account", http.StatusSeeOther)
	return nil
}

// changePassword replaces the password after checking the current one. It
// ends every session of the user, this one included, and starts a new one
// for this browser: whoever else knew the old password is out.
func (h *handler) changePassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	settings := h.settingsData(rq.account.Name, strconv.Itoa(rq.account.HoldoutPercent))
	ip := clientIP(r, h.cfg.TrustedProxies)
	now := h.now()
	// A stolen session must not become a way to guess the password: the
	// current-password check spends from the same budgets as sign-in.
	if wait := h.throttle.wait(rq.user.Email, ip, "", now); wait > 0 {
		pd := h.page(rq, "settings", "Settings", settings)
		pd.Error = fmt.Sprintf("Too many attempts. Wait %d minutes, then try again.", max(1, int(wait.Minutes()+0.999)))
		return h.render(w, http.StatusTooManyRequests, "settings", pd)
	}
	ok, _, err := h.hash.verify(ctx, rq.user.PasswordHash, current)
	if err != nil {
		return err
	}
	problem := ""
	if !ok {
		h.throttle.fail(rq.user.Email, ip, "", now)
		problem = "The current password is incorrect."
	}
	problem = cmp.Or(problem, passwordProblem(next))
	if problem != "" {
		pd := h.page(rq, "settings", "Settings", settings)
		pd.Error = problem
		return h.render(w, http.StatusBadRequest, "settings", pd)
	}
	enc, err := h.hash.hash(ctx, next)
	if err != nil {
		return err
	}
	if err := h.store.SetDashboardPassword(ctx, rq.user.ID, enc, now); err != nil {
		return err
	}
	if _, err := h.store.DeleteDashboardSessions(ctx, rq.user.ID, ""); err != nil {
		return err
	}
	u := *rq.user
	u.PasswordHash, u.PasswordChangedAt = enc, now
	if err := h.startSession(ctx, w, r, &u); err != nil {
		return err
	}
	h.log.Info("dashboard: password changed", "user_id", rq.user.ID)
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=password", http.StatusSeeOther)
	return nil
}

func (h *handler) endOtherSessions(w http.ResponseWriter, r *http.Request, rq *request) error {
	n, err := h.store.DeleteDashboardSessions(r.Context(), rq.user.ID, rq.rec.TokenHash)
	if err != nil {
		return err
	}
	h.log.Info("dashboard: other sessions signed out", "user_id", rq.user.ID, "sessions", n)
	http.Redirect(w, r, modePath(rq.mode, "settings")+"?done=sessions", http.StatusSeeOther)
	return nil
}
