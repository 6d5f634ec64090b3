package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/dashboard"
)

var secretField = regexp.MustCompile(`id="secret-key"[^>]*value="(amp_sk_(?:test|live)_[0-9A-Za-z]+)"`)

// createKey creates a key through the form and returns the secret shown.
func (c *client) createKey(mode amp.Mode, form url.Values) string {
	c.t.Helper()
	r := c.follow(c.submit("/dashboard/"+string(mode)+"/keys", "/dashboard/"+string(mode)+"/keys", form))
	wantStatus(c.t, "create key", r, http.StatusOK)
	m := secretField.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("the created-key page shows no key:\n%s", r.body)
	}
	return m[1]
}

// follow gets the page a post redirected to (post, redirect, get), or
// returns the post's own answer when it did not redirect.
func (c *client) follow(r *response) *response {
	c.t.Helper()
	if r.status != http.StatusSeeOther {
		return r
	}
	return c.get(r.location())
}

func keyForm(name string, mode amp.Mode, scopes ...amp.Scope) url.Values {
	v := url.Values{"name": {name}, "mode": {string(mode)}, "expires_in_days": {"0"}}
	for _, s := range scopes {
		v.Add("scopes", string(s))
	}
	return v
}

func (e *env) keyByName(accountID, name string) *amp.APIKey {
	e.t.Helper()
	keys, err := e.svc.Keys(context.Background(), accountID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return k
		}
	}
	e.t.Fatalf("no key named %q", name)
	return nil
}

func contextBody(userID string) string {
	b, _ := json.Marshal(map[string]string{"userId": userID, "task": "Write the quarterly report", "taskType": "writing"})
	return string(b)
}

func TestKeysLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")

	form := keyForm("backend", amp.ModeTest, amp.ScopeContext, amp.ScopeOutcome)
	form.Set("rate_limit", "5")
	form.Set("expires_in_days", "30")
	secret := c.createKey(amp.ModeTest, form)
	if _, err := amp.ParseKey(secret); err != nil || !strings.HasPrefix(secret, "amp_sk_test_") {
		t.Fatalf("shown key %q: %v", secret, err)
	}
	k := e.keyByName(acct.ID, "backend")
	if k.Mode != amp.ModeTest || k.RateLimit != 5 || k.ExpiresAt == nil || !k.ExpiresAt.Equal(e.clock.Now().Add(30*24*time.Hour)) ||
		len(k.Scopes) != 2 || !k.HasScope(amp.ScopeContext) || !k.HasScope(amp.ScopeOutcome) {
		t.Errorf("stored key %+v", k)
	}

	// The list shows the masked key and never the secret.
	r := c.get("/dashboard/test/keys")
	wantStatus(t, "keys page", r, http.StatusOK)
	wantContains(t, "keys page", r.body, "backend", k.Masked(), "context, outcome", "5 req/s", "never") // last used: never
	wantLacks(t, "keys page", r.body, secret)
	// A live page lists live keys only.
	wantLacks(t, "live keys page", c.get("/dashboard/live/keys").body, k.Masked())

	// The key works, and its last use shows once recorded.
	status, body := e.api("POST", "/v1/context", secret, "", contextBody("user-1"))
	if status != http.StatusOK {
		t.Fatalf("context with the new key: %d %s", status, body)
	}

	// Roll with a one-hour grace: a new secret, the old key still works.
	r = c.submit("/dashboard/test/keys/"+k.ID+"/roll", "/dashboard/test/keys/"+k.ID+"/roll", url.Values{"grace": {"1h"}})
	wantStatus(t, "roll", r, http.StatusSeeOther)
	shownAt := r.location()
	r = c.follow(r)
	wantStatus(t, "rolled page", r, http.StatusOK)
	m := secretField.FindStringSubmatch(r.body)
	if m == nil || m[1] == secret {
		t.Fatalf("roll shows no new key")
	}
	rolled := m[1]
	wantContains(t, "rolled page", r.body, "keeps working until", "export AMP_API_KEY='"+rolled+"'", `data-copy="snippet"`)
	// Reloading the page creates no key and shows the secret no more.
	before := len(e.keys(acct.ID))
	r = c.get(shownAt)
	wantStatus(t, "reloaded page", r, http.StatusOK)
	wantLacks(t, "reloaded page", r.body, rolled)
	wantContains(t, "reloaded page", r.body, "was shown once")
	if after := len(e.keys(acct.ID)); after != before {
		t.Errorf("reloading created keys: %d → %d", before, after)
	}
	wantContains(t, "reloaded page", r.body, "Your rolled key", "keeps working until")
	// The list marks the old key rolled, with its end and its
	// replacement, and each key's actions are labelled with its own mask;
	// the old key offers no second roll.
	var oldKey, newKey *amp.APIKey
	for _, kk := range e.keys(acct.ID) {
		switch {
		case kk.ID == k.ID:
			oldKey = kk
		case kk.Name == "backend":
			newKey = kk
		}
	}
	if oldKey == nil || newKey == nil || oldKey.RolledTo != newKey.ID || newKey.RolledFrom != oldKey.ID {
		t.Fatalf("the keys of a roll do not name each other: old %+v, new %+v", oldKey, newKey)
	}
	r = c.get("/dashboard/test/keys")
	wantContains(t, "keys after a roll", r.body, "Rolled · expires in 1 hour", "Replaced by", "Replaces",
		`aria-label="Roll key backend (`+newKey.Masked()+`)"`, `aria-label="Revoke key backend (`+oldKey.Masked()+`), rolled"`)
	wantLacks(t, "keys after a roll", r.body, `aria-label="Roll key backend (`+oldKey.Masked()+`)"`)
	wantStatus(t, "roll a rolled key", c.get("/dashboard/test/keys/"+k.ID+"/roll"), http.StatusNotFound)
	r = c.submit("/dashboard/test/keys", "/dashboard/test/keys/"+k.ID+"/roll", url.Values{"grace": {"1h"}})
	wantStatus(t, "a second roll of the rolled key", r, http.StatusNotFound)
	wantContains(t, "a second roll of the rolled key", r.body, "rolled already")
	if status, _ := e.api("POST", "/v1/context", secret, "", contextBody("user-1")); status != http.StatusOK {
		t.Errorf("the old key within its grace: %d, want 200", status)
	}
	if status, _ := e.api("POST", "/v1/context", rolled, "", contextBody("user-1")); status != http.StatusOK {
		t.Errorf("the rolled key: %d, want 200", status)
	}
	e.clock.Advance(time.Hour + time.Second)
	status, body = e.api("POST", "/v1/context", secret, "", contextBody("user-1"))
	if status != http.StatusUnauthorized || !strings.Contains(body, amp.CodeKeyExpired) {
		t.Errorf("the old key after its grace: %d %s, want 401 KEY_EXPIRED", status, body)
	}

	// Revoke after confirmation.
	nk := e.keyByName(acct.ID, "backend")
	keys, _ := e.svc.Keys(context.Background(), acct.ID)
	for _, kk := range keys {
		if kk.ID != k.ID {
			nk = kk
		}
	}
	r = c.get("/dashboard/test/keys/" + nk.ID + "/revoke")
	wantStatus(t, "revoke confirmation", r, http.StatusOK)
	wantContains(t, "revoke confirmation", r.body, "cannot be undone", nk.Masked())
	r = c.submit("/dashboard/test/keys/"+nk.ID+"/revoke", "/dashboard/test/keys/"+nk.ID+"/revoke", nil)
	wantStatus(t, "revoke", r, http.StatusSeeOther)
	status, body = e.api("POST", "/v1/context", rolled, "", contextBody("user-1"))
	if status != http.StatusUnauthorized || !strings.Contains(body, amp.CodeUnauthorized) {
		t.Errorf("the revoked key: %d %s, want 401 UNAUTHORIZED", status, body)
	}
	r = c.get("/dashboard/test/keys?done=revoked")
	wantContains(t, "keys after revoking", r.body, "The key was revoked.", "Revoked, expired and quarantined keys")
	// A revoked key offers no roll.
	wantStatus(t, "roll a revoked key", c.get("/dashboard/test/keys/"+nk.ID+"/roll"), http.StatusNotFound)
}

func TestCreateKeyValidation(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")
	for _, tc := range []struct {
		name string
		form url.Values
		msg  string
	}{
		{"NoName", keyForm("", amp.ModeTest, amp.ScopeContext), "Give the key a name"},
		{"NoScopes", keyForm("k", amp.ModeTest), "Choose at least one permission."},
		// The service's rules, with the service's messages (the CLI prints
		// the same ones; cmd/amp's TestKeyRulesAcrossFrontEnds compares).
		{"UnknownScope", keyForm("k", amp.ModeTest, "admin"), "Unknown scope &#34;admin&#34;"},
		{"BadRate", func() url.Values {
			v := keyForm("k", amp.ModeTest, amp.ScopeContext)
			v.Set("rate_limit", "-3")
			return v
		}(), "A key&#39;s rate limit must be a whole number"},
		{"RateAbovePlan", func() url.Values {
			v := keyForm("k", amp.ModeTest, amp.ScopeContext)
			v.Set("rate_limit", "11") // the starter plan's rate is 10/s
			return v
		}(), "from 1 to the plan&#39;s 10"},
		{"NotARate", func() url.Values {
			v := keyForm("k", amp.ModeTest, amp.ScopeContext)
			v.Set("rate_limit", "ten")
			return v
		}(), "A key&#39;s rate limit must be a whole number"},
		{"ControlCharacter", keyForm("bad\x07name", amp.ModeTest, amp.ScopeContext), "without control characters"},
		{"BadExpiry", func() url.Values {
			v := keyForm("k", amp.ModeTest, amp.ScopeContext)
			v.Set("expires_in_days", "2")
			return v
		}(), "Choose an expiry"},
		{"LongName", keyForm(strings.Repeat("n", 101), amp.ModeTest, amp.ScopeContext), "at most 100 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.submit("/dashboard/test/keys", "/dashboard/test/keys", tc.form)
			wantStatus(t, "create", r, http.StatusBadRequest)
			wantContains(t, "create", r.body, tc.msg)
			if secretField.MatchString(r.body) {
				t.Error("a refused form shows a key")
			}
		})
	}
	keys, _ := e.svc.Keys(context.Background(), acct.ID)
	if len(keys) != 0 {
		t.Errorf("refused forms created %d keys", len(keys))
	}
	// The key's mode is the page's: a form field naming the other mode
	// changes nothing.
	if secret := c.createKey(amp.ModeTest, keyForm("ci", amp.ModeLive, amp.AllScopes...)); !strings.HasPrefix(secret, "amp_sk_test_") {
		t.Errorf("a key made on the test page is %q", secret)
	}
	if secret := c.createKey(amp.ModeLive, keyForm("prod", amp.ModeTest, amp.AllScopes...)); !strings.HasPrefix(secret, "amp_sk_live_") {
		t.Errorf("a key made on the live page is %q", secret)
	}
}

// One account never sees or touches another's keys, usage or profiles,
// and one mode never shows the other's profiles.
func TestIsolation(t *testing.T) {
	e := newEnv(t)
	ada, grace := e.client(), e.client()
	ada.signup("ada@example.com")
	grace.signup("grace@example.com")
	adaAcct := e.account("ada@example.com")
	adaSecret := ada.createKey(amp.ModeTest, keyForm("ada-secret-key-name", amp.ModeTest, amp.AllScopes...))
	adaKey := e.keyByName(adaAcct.ID, "ada-secret-key-name")
	graceSecret := grace.createKey(amp.ModeTest, keyForm("grace-key", amp.ModeTest, amp.AllScopes...))

	// Ada's traffic and profile.
	for i := range 3 {
		if status, body := e.api("POST", "/v1/context", adaSecret, "203.0.113.5", contextBody(fmt.Sprintf("ada-user-%d", i))); status != http.StatusOK {
			t.Fatalf("context: %d %s", status, body)
		}
	}
	if status, _ := e.api("POST", "/v1/context", graceSecret, "198.51.100.5", contextBody("grace-user")); status != http.StatusOK {
		t.Fatal("grace's context failed")
	}
	e.flush()

	t.Run("Keys", func(t *testing.T) {
		r := grace.get("/dashboard/test/keys")
		wantLacks(t, "grace's keys page", r.body, "ada-secret-key-name", adaKey.Masked(), adaKey.ID)
		for _, path := range []string{"/roll", "/revoke"} {
			wantStatus(t, "grace opens ada's key "+path, grace.get("/dashboard/test/keys/"+adaKey.ID+path), http.StatusNotFound)
			r := grace.submit("/dashboard/test/keys", "/dashboard/test/keys/"+adaKey.ID+path, url.Values{"grace": {"0"}})
			wantStatus(t, "grace posts to ada's key "+path, r, http.StatusNotFound)
		}
		if status, _ := e.api("POST", "/v1/context", adaSecret, "", contextBody("ada-user-0")); status != http.StatusOK {
			t.Errorf("ada's key after grace's attempts: %d, want 200", status)
		}
		// Nor through the other mode of her own account.
		wantStatus(t, "ada's test key under live", ada.get("/dashboard/live/keys/"+adaKey.ID+"/revoke"), http.StatusNotFound)
	})

	t.Run("Usage", func(t *testing.T) {
		r := grace.get("/dashboard/test/usage")
		wantStatus(t, "grace's usage", r, http.StatusOK)
		wantContains(t, "grace's usage", r.body, `<dd id="usage-requests">1</dd>`, "grace-key", "BR")
		wantLacks(t, "grace's usage", r.body, "ada-secret-key-name", adaKey.ID, ">FR<")
		wantStatus(t, "grace asks for ada's key's usage", grace.get("/dashboard/test/usage?key="+adaKey.ID), http.StatusNotFound)
		r = ada.get("/dashboard/test/usage")
		wantContains(t, "ada's usage", r.body, `<dd id="usage-requests">3</dd>`, "ada-secret-key-name", "FR")
		wantLacks(t, "ada's usage", r.body, "grace-key", ">BR<")
	})

	t.Run("Profiles", func(t *testing.T) {
		r := grace.get("/dashboard/test/profiles/view?userId=ada-user-1")
		wantStatus(t, "grace looks up ada's user", r, http.StatusNotFound)
		wantContains(t, "grace's lookup", r.body, "No profile for this userId in test mode.")
		wantStatus(t, "grace opens the erase page", grace.get("/dashboard/test/profiles/delete?userId=ada-user-1"), http.StatusNotFound)
		r = grace.submit("/dashboard/test/profiles", "/dashboard/test/profiles/delete", url.Values{"userId": {"ada-user-1"}})
		wantStatus(t, "grace erases ada's user", r, http.StatusNotFound)
		wantStatus(t, "ada's user in ada's test mode", ada.get("/dashboard/test/profiles/view?userId=ada-user-1"), http.StatusOK)
		wantStatus(t, "ada's test user in live mode", ada.get("/dashboard/live/profiles/view?userId=ada-user-1"), http.StatusNotFound)
	})
}

func TestUsagePage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")
	secret := c.createKey(amp.ModeLive, keyForm("prod", amp.ModeLive, amp.AllScopes...))
	key := e.keyByName(acct.ID, "prod")

	// A week of steady traffic from France, an hour apart...
	for range 7 * 24 {
		e.api("POST", "/v1/context", secret, "203.0.113.5", contextBody("u"))
		e.flush()
		e.clock.Advance(time.Hour)
	}
	// ...then a burst from Brazil within one minute, and an error.
	for range 80 {
		// Within one minute, but under the plan's 10 requests a second.
		e.clock.Advance(150 * time.Millisecond)
		if status, body := e.api("POST", "/v1/context", secret, "198.51.100.9", contextBody("u")); status != http.StatusOK {
			t.Fatalf("burst: %d %s", status, body)
		}
	}
	e.api("POST", "/v1/context", secret, "198.51.100.9", `{"userId": ""}`)
	e.flush()
	// A week has passed: the session has ended.
	c.login("ada@example.com", testPassword)

	r := c.get("/dashboard/live/usage")
	wantStatus(t, "usage", r, http.StatusOK)
	wantContains(t, "usage", r.body,
		"Unusual activity", "a country the key had never used", "the key&#39;s usual",
		`aria-labelledby="chart`, "Spike at", "New country at", "New: BR", "BR (new)",
		"live requests used this month", "1 Apr 2026")
	// The key's page and its leak warning.
	r = c.get("/dashboard/live/keys")
	wantContains(t, "keys page", r.body, "Possible leak", "never used")
	r = c.get("/dashboard/live/usage?key=" + key.ID + "&window=1h")
	wantStatus(t, "key usage", r, http.StatusOK)
	// The burst, the error, and the last steady request an hour ago.
	wantContains(t, "key usage", r.body, `<dd id="usage-requests">82</dd>`, "Requests per minute", "<dd>1</dd>")
	// Test mode has none of it.
	r = c.get("/dashboard/test/usage")
	wantContains(t, "test usage", r.body, `<dd id="usage-requests">0</dd>`)
	wantLacks(t, "test usage", r.body, "Unusual activity")
	// The plan page counts the month's successful live requests.
	r = c.get("/dashboard/live/plan")
	wantContains(t, "plan", r.body, fmt.Sprintf("<strong>%d</strong> of 100,000", 7*24+80))
}

func TestProfilePages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")
	secret := c.createKey(amp.ModeTest, keyForm("k", amp.ModeTest, amp.AllScopes...))
	ctx := context.Background()
	for i := range 6 {
		e.clock.Advance(time.Second) // under the plan's rate
		status, body := e.api("POST", "/v1/context", secret, "", contextBody("user/ü 1"))
		if status != http.StatusOK {
			t.Fatalf("context: %d %s", status, body)
		}
		var got struct{ RequestID string }
		json.Unmarshal([]byte(body), &got)
		out := fmt.Sprintf(`{"requestId": %q, "started": true, "completed": %v, "timeToStart": 12.5, "satisfaction": 0.8}`, got.RequestID, i%2 == 0)
		if status, body := e.api("POST", "/v1/outcome", secret, "", out); status != http.StatusOK {
			t.Fatalf("outcome: %d %s", status, body)
		}
	}
	if _, err := e.svc.UpdateProfile(ctx, principal(acct, amp.ModeTest), "user/ü 1", &amp.ProfileUpdate{PreferredFraming: ptr(amp.FramingChallenge)}); err != nil {
		t.Fatal(err)
	}

	r := c.get("/dashboard/test/profiles/view?userId=" + url.QueryEscape("user/ü 1"))
	wantStatus(t, "profile", r, http.StatusOK)
	wantContains(t, "profile", r.body, "user/ü 1", "Learning", "Outcomes reported", ">6<", "Learned preference strengths",
		"<svg", "Micro task", "Brief directive", "Challenge", "12.5 s", "0.80", "writing")
	// The history lists each outcome.
	if n := strings.Count(r.body, "<code class=\"small\">req_"); n != 6 {
		t.Errorf("history lists %d outcomes, want 6", n)
	}

	// Erase, after confirmation.
	r = c.get("/dashboard/test/profiles/delete?userId=" + url.QueryEscape("user/ü 1"))
	wantStatus(t, "erase confirmation", r, http.StatusOK)
	r = c.submit("/dashboard/test/profiles", "/dashboard/test/profiles/delete", url.Values{"userId": {"user/ü 1"}})
	wantStatus(t, "erase", r, http.StatusSeeOther)
	if _, err := e.svc.GetProfile(ctx, principal(acct, amp.ModeTest), "user/ü 1"); amp.ErrorCode(err) != amp.CodeNotFound {
		t.Errorf("profile after erasure: %v, want NOT_FOUND", err)
	}
	wantStatus(t, "erased profile", c.get("/dashboard/test/profiles/view?userId="+url.QueryEscape("user/ü 1")), http.StatusNotFound)
	wantContains(t, "profiles after erasure", c.get("/dashboard/test/profiles?done=erased").body, "were erased")
}

func TestPlanAndSettings(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	r := c.get("/dashboard/test/plan")
	wantStatus(t, "plan", r, http.StatusOK)
	wantContains(t, "plan", r.body, "Starter plan", "10 requests per second", "100,000", "1,000,000", "unlimited", "1 Apr 2026")

	r = c.submit("/dashboard/test/settings", "/dashboard/test/settings/account", url.Values{"name": {"Engines Ltd"}, "holdout_percent": {"10"}})
	wantStatus(t, "save settings", r, http.StatusSeeOther)
	a := e.account("ada@example.com")
	if a.Name != "Engines Ltd" || a.HoldoutPercent != 10 {
		t.Errorf("account after settings: %q %d", a.Name, a.HoldoutPercent)
	}
	for _, bad := range []url.Values{
		{"name": {""}, "holdout_percent": {"10"}},
		{"name": {"x"}, "holdout_percent": {"101"}},
		{"name": {"x"}, "holdout_percent": {"ten"}},
	} {
		r := c.submit("/dashboard/test/settings", "/dashboard/test/settings/account", bad)
		wantStatus(t, "bad settings", r, http.StatusBadRequest)
	}
	if a := e.account("ada@example.com"); a.Name != "Engines Ltd" || a.HoldoutPercent != 10 {
		t.Errorf("refused settings changed the account: %q %d", a.Name, a.HoldoutPercent)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLearningCard(t *testing.T) {
	var got []amp.Tenant
	var result *dashboard.Lift
	var fail error
	e := newEnv(t, withDashboard(func(c *dashboard.Config) {
		c.Lift = func(ctx context.Context, tn amp.Tenant, since time.Time) (*dashboard.Lift, error) {
			got = append(got, tn)
			return result, fail
		}
	}))
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")

	r := c.get("/dashboard/live/profiles")
	wantContains(t, "no holdout", r.body, "Set a holdout in")
	if len(got) != 0 {
		t.Errorf("lift measured without a holdout")
	}
	c.submit("/dashboard/live/settings", "/dashboard/live/settings/account", url.Values{"name": {"x"}, "holdout_percent": {"10"}})

	for _, tc := range []struct {
		name   string
		lift   *dashboard.Lift
		err    error
		status int
		want   []string
	}{
		{"Positive", &dashboard.Lift{TreatedOutcomes: 900, HoldoutOutcomes: 100, TreatedRate: 0.62, HoldoutRate: 0.5, Lift: 0.12, Low: 0.04, High: 0.2}, nil, 200,
			[]string{"Personalised users complete 12.0 percentage points more often", "+4.0 pts", "+20.0 pts", "Lift of personalisation over the holdout", "62.0%", "50.0%", "900"}},
		{"Unclear", &dashboard.Lift{TreatedOutcomes: 50, HoldoutOutcomes: 6, TreatedRate: 0.6, HoldoutRate: 0.5, Lift: 0.1, Low: -0.15, High: 0.35}, nil, 200,
			[]string{"No clear difference yet", "includes zero"}},
		{"Negative", &dashboard.Lift{TreatedOutcomes: 500, HoldoutOutcomes: 500, TreatedRate: 0.4, HoldoutRate: 0.5, Lift: -0.1, Low: -0.16, High: -0.04}, nil, 200,
			[]string{"less often than the holdout"}},
		{"TooFew", &dashboard.Lift{TreatedOutcomes: 12}, nil, 200, []string{"Not enough outcomes to compare yet", "12 from personalised users and 0 from the holdout"}},
		{"Failed", nil, fmt.Errorf("store down"), 200, []string{"could not be measured just now"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			result, fail, got = tc.lift, tc.err, nil
			r := c.get("/dashboard/live/profiles")
			wantStatus(t, "profiles", r, tc.status)
			wantContains(t, "learning card", r.body, tc.want...)
			if len(got) != 1 || got[0] != (amp.Tenant{AccountID: acct.ID, Mode: amp.ModeLive}) {
				t.Errorf("lift measured for %v, want the account's live tenant", got)
			}
		})
	}

	e2 := newEnv(t)
	c2 := e2.client()
	c2.signup("grace@example.com")
	c2.submit("/dashboard/test/settings", "/dashboard/test/settings/account", url.Values{"name": {"x"}, "holdout_percent": {"5"}})
	wantContains(t, "no lift source", c2.get("/dashboard/test/profiles").body, "This server does not measure lift.")
}

func (e *env) keys(accountID string) []*amp.APIKey {
	e.t.Helper()
	keys, err := e.svc.Keys(context.Background(), accountID)
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// TestUsagePageShowsRefused: requests refused by the rate limit, and those
// made with a revoked key, are series of their own on the Usage page.
func TestUsagePageShowsRefused(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")
	secret := c.createKey(amp.ModeLive, keyForm("prod", amp.ModeLive, amp.AllScopes...))
	key := e.keyByName(acct.ID, "prod")
	// The starter plan allows a burst of 10 a second: in one instant, 4 of
	// 14 requests are refused.
	limited := 0
	for range 14 {
		if status, _ := e.api("POST", "/v1/context", secret, "203.0.113.5", contextBody("u")); status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 4 {
		t.Fatalf("%d requests rate-limited, want 4", limited)
	}
	if _, err := e.svc.RevokeKey(context.Background(), acct.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if status, _ := e.api("POST", "/v1/context", secret, "203.0.113.5", contextBody("u")); status != http.StatusUnauthorized {
		t.Fatalf("revoked key: HTTP %d, want 401", status)
	}
	e.flush()
	r := c.get("/dashboard/live/usage?window=1h")
	wantStatus(t, "usage", r, http.StatusOK)
	wantContains(t, "usage", r.body, `<dd id="usage-requests">15</dd>`, `<dd id="usage-rate-limited">4</dd>`,
		`<dd id="usage-over-quota">0</dd>`, `<dd id="usage-failed-key">1</dd>`, "revoked, quarantined or expired")
}

// TestUnknownFilterValues: a window, key or page cursor that the pages do
// not offer is a 404 in the dashboard's frame that says what is missing,
// never another page's figures.
func TestUnknownFilterValues(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	acct := e.account("ada@example.com")
	c.createKey(amp.ModeLive, keyForm("prod", amp.ModeLive, amp.AllScopes...))
	live := e.keyByName(acct.ID, "prod")
	for _, w := range []string{"1h", "24h", "7d", "30d", ""} {
		wantStatus(t, "usage window "+w, c.get("/dashboard/live/usage?window="+w), http.StatusOK)
	}
	for _, c2 := range []struct{ path, says string }{
		{"/dashboard/live/usage?window=999d", "No such usage window"},
		{"/dashboard/live/usage?window=24H", "No such usage window"},
		{"/dashboard/test/usage?key=" + live.ID, "No such API key in test mode"},
		{"/dashboard/live/usage?key=key_nope", "No such API key in live mode"},
		{"/dashboard/test/requests?key=" + live.ID, "No such API key in test mode"},
		{"/dashboard/live/requests?before=yesterday", "No such page of the request log"},
		{"/dashboard/live/profiles?after=yesterday", "No such page of the profile list"},
		{"/dashboard/live/audit?before=-1", "No such page of the audit log"},
		{"/dashboard/live/nowhere", "There is nothing here"},
	} {
		r := c.get(c2.path)
		wantStatus(t, c2.path, r, http.StatusNotFound)
		// In the frame of a signed-in page: the navigation is there.
		wantContains(t, c2.path, r.body, c2.says, `aria-label="Dashboard"`)
	}
	// A malformed search is the form's mistake: 400, next to its field.
	r := c.get("/dashboard/live/requests?status=abc")
	wantStatus(t, "requests with a bad status", r, http.StatusBadRequest)
	wantContains(t, "requests with a bad status", r.body, `id="rq-status-error"`)
	wantStatus(t, "requests of a live key", c.get("/dashboard/live/requests?key="+live.ID), http.StatusOK)
}
