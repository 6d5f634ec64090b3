package dashboard

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// historyLen is how many of a user's latest outcomes the profile page lists.
const historyLen = 50

type profilesPage struct {
	UserID   string
	NotFound bool
	Learning *learningCard
	// The list: profiles whose userId starts with Prefix, most recently
	// seen first, and the link to the next page.
	Prefix      string
	List        []*amp.ProfileSummary
	NextURL     string
	FieldErrors map[string]string
}

// profilesPageSize is the profile list's page length.
const profilesPageSize = 25

// profileList fills the list of the profiles page from the query: prefix,
// and the after / after_id cursor of a next page.
func (h *handler) profileList(r *http.Request, rq *request, data *profilesPage) (int, error) {
	q := r.URL.Query()
	lq := amp.ProfileListQuery{Prefix: strings.TrimSpace(q.Get("prefix")), Limit: profilesPageSize}
	if v := q.Get("after"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, amp.Errorf(amp.CodeNotFound, "No such page of the profile list.")
		}
		lq.AfterUpdated, lq.AfterUserID = t, q.Get("after_id")
	}
	data.Prefix = lq.Prefix
	page, err := h.svc.ListProfiles(r.Context(), rq.sess, rq.mode, lq)
	if err != nil {
		if httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
			return 0, err
		}
		data.FieldErrors = fieldErrors(err, "prefix")
		return http.StatusBadRequest, nil
	}
	data.List = page.Profiles
	if n := page.Next; n != nil {
		v := url.Values{"after": {n.AfterUpdated.Format(time.RFC3339Nano)}, "after_id": {n.AfterUserID}}
		if n.Prefix != "" {
			v.Set("prefix", n.Prefix)
		}
		data.NextURL = modePath(rq.mode, "profiles") + "?" + v.Encode()
	}
	return http.StatusOK, nil
}

type profilePage struct {
	UserID     string
	Detail     *service.ProfileDetail
	Dimensions []dimensionView
	Chart      template.HTML
	Affinities []affinity
	DeleteURL  string
}

// dimensionView is one adapted dimension of a profile: what is preferred and
// how sure the model is.
type dimensionView struct {
	Name       string
	Preferred  string
	Manual     string // set through PUT /v1/profile, if any
	Confidence float64
	HasConf    bool // encouragement has no confidence in the wire profile
}

type affinity struct {
	TaskType string
	Rate     float64
}

func (h *handler) profilesPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	data := &profilesPage{}
	card, err := h.learning(r.Context(), rq)
	if err != nil {
		return err
	}
	data.Learning = card
	status, err := h.profileList(r, rq, data)
	if err != nil {
		return err
	}
	pd := h.page(rq, "profiles", "Profiles", data)
	if r.URL.Query().Get("done") == "erased" {
		pd.Flash = "The profile, its outcomes and its pending requests were erased."
	}
	return h.render(w, status, "profiles", pd)
}

// profilePage shows one user's profile. A userId with no profile in this
// mode (or one of another account: the lookup never leaves the tenant)
// renders the lookup page with a "not found" message.
func (h *handler) profilePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	userID := r.URL.Query().Get("userId")
	if strings.TrimSpace(userID) == "" {
		http.Redirect(w, r, modePath(rq.mode, "profiles"), http.StatusSeeOther)
		return nil
	}
	d, err := h.svc.ProfileDetail(r.Context(), rq.tenant(), userID, historyLen)
	switch code := amp.ErrorCode(err); {
	case code == amp.CodeNotFound || code == amp.CodeInvalidUserID:
		card, lerr := h.learning(r.Context(), rq)
		if lerr != nil {
			return lerr
		}
		pd := h.page(rq, "profiles", "Profiles", &profilesPage{UserID: userID, NotFound: true, Learning: card})
		pd.Error = "No profile for this userId in " + string(rq.mode) + " mode."
		if code == amp.CodeInvalidUserID {
			pd.Error = amp.ErrorMessage(err)
		}
		return h.render(w, http.StatusNotFound, "profiles", pd)
	case err != nil:
		return err
	}
	p := d.Profile
	view := &profilePage{
		UserID: userID,
		Detail: d,
		Dimensions: []dimensionView{
			{Name: "Framing", Preferred: string(p.PreferredFraming), Confidence: p.FramingConfidence, HasConf: true},
			{Name: "Communication style", Preferred: string(p.CommunicationStyle), Confidence: p.StyleConfidence, HasConf: true},
			{Name: "Complexity handling", Preferred: string(p.ComplexityPreference), Confidence: p.ComplexityConfidence, HasConf: true},
			{Name: "Encouragement", Preferred: string(p.EncouragementLevel), Confidence: d.Summary.Confidence.Encouragement, HasConf: true},
		},
		Chart:     strengthsChart(d.Summary, p),
		DeleteURL: modePath(rq.mode, "profiles/delete") + "?userId=" + url.QueryEscape(userID),
	}
	if m := d.Manual; m != nil {
		view.Dimensions[0].Manual = string(m.Framing)
		view.Dimensions[1].Manual = string(m.Style)
		view.Dimensions[2].Manual = string(m.Handling)
		view.Dimensions[3].Manual = string(m.Encouragement)
	}
	for name, rate := range p.TaskTypeAffinities {
		view.Affinities = append(view.Affinities, affinity{TaskType: name, Rate: rate})
	}
	sortAffinities(view.Affinities)
	pd := h.page(rq, "profiles", "Profile "+userID, view)
	pd.SwitchPath = modePath(pd.OtherMode, "profiles/view") + "?userId=" + url.QueryEscape(userID)
	return h.render(w, http.StatusOK, "profile", pd)
}

func sortAffinities(a []affinity) {
	// Highest completion first; ties by name, for a stable page.
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && (a[j].Rate > a[j-1].Rate || (a[j].Rate == a[j-1].Rate && a[j].TaskType < a[j-1].TaskType)); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func (h *handler) deleteProfilePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.Allow(rq.sess, amp.PermProfiles); err != nil {
		return err
	}
	userID := r.URL.Query().Get("userId")
	if err := amp.ValidateUserID(userID); err != nil {
		return amp.Errorf(amp.CodeNotFound, "No such profile.")
	}
	// Confirm only what exists: the page must not invite erasing a profile
	// of another mode or account, which would fail anyway.
	if _, err := h.svc.ProfileDetail(r.Context(), rq.tenant(), userID, 0); err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "profile_delete", h.page(rq, "profiles", "Erase profile", &profilePage{UserID: userID}))
}

func (h *handler) deleteProfile(w http.ResponseWriter, r *http.Request, rq *request) error {
	userID := r.PostFormValue("userId")
	if err := amp.ValidateUserID(userID); err != nil {
		return amp.Errorf(amp.CodeNotFound, "No such profile.")
	}
	if err := h.svc.EraseProfileAs(r.Context(), rq.sess, rq.mode, userID); err != nil {
		return err
	}
	h.log.Info("dashboard: profile erased", "user_id", rq.user.ID, "account_id", rq.account.ID, "mode", rq.mode)
	http.Redirect(w, r, modePath(rq.mode, "profiles")+"?done=erased", http.StatusSeeOther)
	return nil
}
