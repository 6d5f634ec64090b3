package dashboard

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// Key lifetimes offered by the create form, in days (0: never expires).
var expiryChoices = []int{0, 7, 30, 90, 365}

// Grace periods offered when rolling a key, within amp.MaxRollGrace.
var graceChoices = []struct {
	Value string
	Label string
	D     time.Duration
}{
	{"0", "None: the old key stops now", 0},
	{"1h", "1 hour", time.Hour},
	{"24h", "24 hours", 24 * time.Hour},
	{"168h", "7 days", 7 * 24 * time.Hour},
}

// keyRow is one key of the list.
type keyRow struct {
	*amp.APIKey
	Status   string // an amp.KeyStatus: active, expiring, rolled, expired, revoked, quarantined
	Warnings []string
	// RotationDue marks a usable key older than the rotation age;
	// ExpiringSoon one that expires within service.ExpiryNotice, when
	// key.expiring fires.
	RotationDue, ExpiringSoon bool
	// Replacement is the key a roll replaced this one with, and Replaces
	// the key this one replaced, when the account still has them.
	Replacement, Replaces *amp.APIKey
}

// Rollable reports whether the row's key can be rolled.
func (r keyRow) Rollable() bool { return amp.KeyStatus(r.Status).Rollable() }

// keyForm is the create form's input, kept to refill it after a mistake.
type keyForm struct {
	Name      string
	Mode      amp.Mode
	Scopes    map[amp.Scope]bool
	RateLimit string
	Expiry    int
	// Errors are the form's mistakes by field (name, scopes, rate_limit,
	// expiry; "" for one of no field).
	Errors map[string]string
}

// keyFormField maps the service's details.field to the form's fields.
var keyFormField = map[string]string{"name": "name", "scopes": "scopes", "rateLimit": "rate_limit", "expiresIn": "expiry"}

type keysPage struct {
	Active, Inactive []keyRow
	Form             keyForm
	AllScopes        []amp.Scope
	ExpiryChoices    []int
	PlanRate         int
	RotationDays     int // the rotation age, in days
}

type keyCreatedPage struct {
	Secret   string
	Key      *amp.APIKey
	Rolled   *amp.APIKey // the key this one replaces, when rolled
	APIBase  string
	Endpoint string
}

type keyActionPage struct {
	Key          *amp.APIKey
	GraceChoices any
}

func (h *handler) keysPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	form := keyForm{Mode: rq.mode, Scopes: map[amp.Scope]bool{}}
	for _, s := range amp.AllScopes {
		form.Scopes[s] = true
	}
	pd, err := h.keysData(r.Context(), rq, form)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "revoked":
		pd.Flash = "The key was revoked. Requests with it are refused from now on."
	case "restored":
		pd.Flash = "The key was restored from quarantine: requests with it are accepted again within a second."
	case "welcome":
		pd.Flash = "Welcome to AMP. Create a test key to make your first request."
	case "joined":
		pd.Flash = "Welcome to " + rq.account.Name + ". You are " + string(rq.sess.Membership.Role) + " of this account."
	case "switched":
		pd.Flash = "You are now working in " + rq.account.Name + ", as " + string(rq.sess.Membership.Role) + "."
	}
	return h.render(w, http.StatusOK, "keys", pd)
}

func (h *handler) keysData(ctx context.Context, rq *request, form keyForm) (*pageData, error) {
	keys, err := h.svc.Keys(ctx, rq.account.ID)
	if err != nil {
		return nil, err
	}
	warnings, err := h.svc.LeakWarnings(ctx, rq.tenant(), leakWindow)
	if err != nil {
		// The list matters more than its warnings.
		h.log.Warn("dashboard: key warnings unavailable", "account_id", rq.account.ID, "err", err)
	}
	now := h.svc.Now()
	data := &keysPage{
		Form:          form,
		AllScopes:     amp.AllScopes,
		ExpiryChoices: expiryChoices,
		PlanRate:      rq.account.Plan.Rate(rq.account.CustomRate),
		RotationDays:  int(h.svc.RotationAge() / (24 * time.Hour)),
	}
	byID := make(map[string]*amp.APIKey, len(keys))
	for _, k := range keys {
		byID[k.ID] = k
	}
	// Newest first.
	for _, k := range slices.Backward(keys) {
		if k.Mode != rq.mode {
			continue
		}
		status := k.Status(now)
		row := keyRow{APIKey: k, Status: string(status), Warnings: warnings[k.ID], RotationDue: h.svc.RotationDue(k, now),
			ExpiringSoon: status == amp.KeyExpiring && k.ExpiresAt.Sub(now) <= service.ExpiryNotice,
			Replacement:  byID[k.RolledTo], Replaces: byID[k.RolledFrom]}
		if status.Usable() {
			data.Active = append(data.Active, row)
		} else {
			data.Inactive = append(data.Inactive, row)
		}
	}
	return h.page(rq, "keys", "API keys", data), nil
}

// createKey creates a key in the page's mode (a tab shows one mode, and
// the key is made in the mode it shows). The form's own choices (a name,
// at least one permission, an expiry from the list) are checked here; every
// rule of the key itself is the service's, whose message is shown as it
// is, as the CLI prints it.
func (h *handler) createKey(w http.ResponseWriter, r *http.Request, rq *request) error {
	form := keyForm{
		Name:      r.PostFormValue("name"),
		Mode:      rq.mode,
		Scopes:    map[amp.Scope]bool{},
		RateLimit: strings.TrimSpace(r.PostFormValue("rate_limit")),
	}
	opts := service.KeyOptions{Name: form.Name}
	for _, s := range r.PostForm["scopes"] {
		form.Scopes[amp.Scope(s)] = true
		opts.Scopes = append(opts.Scopes, amp.Scope(s))
	}
	exp, expErr := strconv.Atoi(r.PostFormValue("expires_in_days"))
	form.Expiry = exp
	opts.ExpiresIn = time.Duration(exp) * 24 * time.Hour
	if form.RateLimit != "" {
		n, err := strconv.Atoi(form.RateLimit)
		if err != nil {
			// What is not a whole number is out of range: the service's
			// message says what is allowed.
			n = -1
		}
		opts.RateLimit = n
	}
	// Every mistake of the form at once, each next to its field; the
	// service's own rules (the name's length, the rate within the plan)
	// come back one at a time, placed by their details.field.
	problems := map[string]string{}
	if amp.NormalizeName(form.Name) == "" {
		problems["name"] = "Give the key a name, such as the service or environment that will use it."
	}
	if len(opts.Scopes) == 0 {
		// No box ticked is not "every scope", as it is for the CLI.
		problems["scopes"] = "Choose at least one permission."
	}
	if expErr != nil || !slices.Contains(expiryChoices, exp) {
		problems["expiry"] = "Choose an expiry from the list."
	}
	var created *service.CreatedKey
	if len(problems) == 0 {
		var err error
		created, err = h.svc.CreateKeyAs(r.Context(), rq.sess, rq.mode, opts)
		if err != nil && httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
			return err
		}
		if err != nil {
			field, _ := amp.ErrorDetails(err)["field"].(string)
			problems[keyFormField[field]] = amp.ErrorMessage(err)
		}
	}
	if len(problems) > 0 {
		form.Errors = problems
		pd, err := h.keysData(r.Context(), rq, form)
		if err != nil {
			return err
		}
		// One mistake is said in the banner too; several are summed up.
		pd.Error = "The key was not created: see the form below."
		if len(problems) == 1 {
			for _, msg := range problems {
				pd.Error = msg
			}
		}
		return h.render(w, http.StatusBadRequest, "keys", pd)
	}
	h.log.Info("dashboard: key created", "user_id", rq.user.ID, "key_id", created.Key.ID, "mode", created.Key.Mode)
	return h.showSecret(w, r, created)
}

// newKeyCookie carries a new key's secret from the post that created it to
// the one page that shows it (setOnce): reloading that page creates
// nothing. The page checks the secret against the key's hash.
const newKeyCookie = "amp_new_key"

func createdPath(k *amp.APIKey) string { return modePath(k.Mode, "keys/"+k.ID+"/created") }

// showSecret sends the browser to the page that shows the new key once.
func (h *handler) showSecret(w http.ResponseWriter, r *http.Request, created *service.CreatedKey) error {
	h.setOnce(w, newKeyCookie, created.Secret, createdPath(created.Key))
	http.Redirect(w, r, createdPath(created.Key), http.StatusSeeOther)
	return nil
}

// keyCreated is the one page that shows a key in full, with
// Cache-Control: no-store so that neither history nor cache keeps it. A
// reload shows the key without its secret.
func (h *handler) keyCreated(w http.ResponseWriter, r *http.Request, rq *request) error {
	k, err := h.ownKey(r.Context(), rq, r.PathValue("id"))
	if err != nil {
		return err
	}
	data := &keyCreatedPage{Key: k}
	if secret := h.takeOnce(w, r, newKeyCookie, createdPath(k)); secret != "" && amp.HashKey(secret) == k.Hash {
		data.Secret = secret
	}
	base := h.requestBase(r)
	data.APIBase, data.Endpoint = base, base+"/v1/context"
	title := "Your new key"
	if k.RolledFrom != "" {
		if old, err := h.ownKey(r.Context(), rq, k.RolledFrom); err == nil {
			data.Rolled, title = old, "Your rolled key"
		}
	}
	return h.render(w, http.StatusOK, "key_created", h.page(rq, "keys", title, data))
}

// ownKey returns the key id of the signed-in account in the page's mode; a
// key of another account or mode is NOT_FOUND, as a missing one is.
func (h *handler) ownKey(ctx context.Context, rq *request, id string) (*amp.APIKey, error) {
	return h.svc.TenantKey(ctx, rq.tenant(), id)
}

func (h *handler) rollPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.Allow(rq.sess, amp.PermKeys); err != nil {
		return err
	}
	k, err := h.ownKey(r.Context(), rq, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := service.Rollable(k, h.svc.Now()); err != nil {
		return amp.Errorf(amp.CodeNotFound, "%s", amp.ErrorMessage(err))
	}
	if k.Quarantined() {
		if err := h.svc.Allow(rq.sess, amp.PermQuarantine); err != nil {
			return err
		}
	}
	return h.render(w, http.StatusOK, "key_roll", h.page(rq, "keys", "Roll key", &keyActionPage{Key: k, GraceChoices: graceChoices}))
}

func (h *handler) rollKey(w http.ResponseWriter, r *http.Request, rq *request) error {
	k, err := h.ownKey(r.Context(), rq, r.PathValue("id"))
	if err != nil {
		return err
	}
	grace := time.Duration(-1)
	for _, g := range graceChoices {
		if g.Value == r.PostFormValue("grace") {
			grace = g.D
		}
	}
	if grace < 0 {
		pd := h.page(rq, "keys", "Roll key", &keyActionPage{Key: k, GraceChoices: graceChoices})
		pd.Error = "Choose a grace period from the list."
		return h.render(w, http.StatusBadRequest, "key_roll", pd)
	}
	created, err := h.svc.RollKeyAs(r.Context(), rq.sess, k.ID, grace)
	if amp.ErrorCode(err) == amp.CodeInvalidRequest {
		// A key that cannot be rolled has no roll page: the same 404 as
		// the page's, with the service's reason.
		return amp.Errorf(amp.CodeNotFound, "%s", amp.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	h.log.Info("dashboard: key rolled", "user_id", rq.user.ID, "key_id", k.ID, "new_key_id", created.Key.ID)
	return h.showSecret(w, r, created)
}

func (h *handler) revokePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.Allow(rq.sess, amp.PermKeys); err != nil {
		return err
	}
	k, err := h.ownKey(r.Context(), rq, r.PathValue("id"))
	if err != nil {
		return err
	}
	if k.RevokedAt != nil {
		http.Redirect(w, r, modePath(rq.mode, "keys"), http.StatusSeeOther)
		return nil
	}
	return h.render(w, http.StatusOK, "key_revoke", h.page(rq, "keys", "Revoke key", &keyActionPage{Key: k}))
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request, rq *request) error {
	k, err := h.ownKey(r.Context(), rq, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := h.svc.RevokeKeyAs(r.Context(), rq.sess, k.ID); err != nil {
		return err
	}
	h.log.Info("dashboard: key revoked", "user_id", rq.user.ID, "key_id", k.ID)
	http.Redirect(w, r, modePath(rq.mode, "keys")+"?done=revoked", http.StatusSeeOther)
	return nil
}
