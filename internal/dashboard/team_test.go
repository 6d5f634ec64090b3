package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/totp"
)

var inviteLinkRE = regexp.MustCompile(`id="invite-url" class="mono" type="text" readonly value="([^"]+)"`)

// invite creates an invitation on the members page and returns its path
// (/dashboard/join?t=...).
func (c *client) invite(email string, role amp.Role) string {
	c.t.Helper()
	r := c.submit("/dashboard/test/members", "/dashboard/test/members/invite", url.Values{"email": {email}, "role": {string(role)}})
	wantStatus(c.t, "invite", r, http.StatusSeeOther)
	r = c.follow(r)
	wantStatus(c.t, "invitation page", r, http.StatusOK)
	m := inviteLinkRE.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no invitation link in:\n%s", r.body)
	}
	u := mustURL(c.t, html.UnescapeString(m[1]))
	return u.RequestURI()
}

// join accepts an invitation from a fresh browser.
func (e *env) join(link, email string) *client {
	e.t.Helper()
	c := e.client()
	tok := mustURL(e.t, e.srv.URL+link).Query().Get("t")
	r := c.submit(link, "/dashboard/join", url.Values{"t": {tok}, "email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("join as %s: status %d:\n%s", email, r.status, r.body)
	}
	return c
}

// Members join by link with their role; the pages show what the role
// allows, and the service refuses the rest even when posted by hand.
func TestMembersPages(t *testing.T) {
	e := newEnv(t)
	owner := e.client()
	owner.signup("owner@example.com")

	link := owner.invite("dev@example.com", amp.RoleDeveloper)
	// Post, redirect, get: a second view of the page the invitation landed
	// on invites no one more and shows the link no more.
	ownerUser, err := e.db.DashboardUserByEmail(context.Background(), "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		ts, err := e.db.DashboardTokens(context.Background(), ownerUser.AccountID, amp.TokenInvite)
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	if n := pending(); n != 1 {
		t.Fatalf("%d invitations after one invite, want 1", n)
	}
	hash := service.LinkHash(mustURL(t, e.srv.URL+link).Query().Get("t"))
	r := owner.get("/dashboard/test/members/invited/" + hash)
	wantStatus(t, "invitation page reloaded", r, http.StatusOK)
	wantLacks(t, "invitation page reloaded", r.body, `id="invite-url"`)
	wantContains(t, "invitation page reloaded", r.body, "was shown once")
	if n := pending(); n != 1 {
		t.Errorf("%d invitations after reloading the invitation page, want 1", n)
	}
	wantStatus(t, "an unknown invitation's page", owner.get("/dashboard/test/members/invited/"+strings.Repeat("0", 64)), http.StatusNotFound)
	joinPage := e.client().get(link)
	wantStatus(t, "join page", joinPage, http.StatusOK)
	wantContains(t, "join page", joinPage.body, "as a <strong>developer</strong>", `value="dev@example.com"`)
	// The invitation names dev@: another address is refused next to the
	// field, and the link still works.
	other := e.client()
	tok := mustURL(t, e.srv.URL+link).Query().Get("t")
	r = other.submit(link, "/dashboard/join", url.Values{"t": {tok}, "email": {"eve@example.com"}, "password": {testPassword}})
	wantStatus(t, "join with another email", r, http.StatusBadRequest)
	wantContains(t, "join with another email", r.body, `class="field-error" id="email-error"`, "another email address")
	dev := e.join(link, "dev@example.com")
	// Used once.
	r = e.client().get(link)
	wantStatus(t, "a used link", r, http.StatusNotFound)
	wantContains(t, "a used link", r.body, "invalid, expired or already used")

	viewer := e.join(owner.invite("", amp.RoleViewer), "viewer@example.com")

	// The developer creates keys but sees no member or account controls.
	r = dev.get("/dashboard/test/keys")
	wantContains(t, "developer's keys page", r.body, `id="new-key"`)
	wantLacks(t, "developer's keys page", r.body, "Audit log")
	r = dev.submit("/dashboard/test/keys", "/dashboard/test/keys", url.Values{"name": {"ci"}, "scopes": {"context", "outcome"}, "expires_in_days": {"0"}})
	wantStatus(t, "developer creates a key", r, http.StatusSeeOther)
	r = dev.get("/dashboard/test/members")
	wantStatus(t, "developer's members page", r, http.StatusOK)
	wantContains(t, "developer's members page", r.body, "owner@example.com", "viewer@example.com")
	wantLacks(t, "developer's members page", r.body, "Invite a member", "Remove", "Change role")
	r = dev.submit("/dashboard/test/members", "/dashboard/test/members/invite", url.Values{"role": {"viewer"}})
	wantStatus(t, "developer invites", r, http.StatusForbidden)
	r = dev.submit("/dashboard/test/settings", "/dashboard/test/settings/account", url.Values{"name": {"Mine"}, "holdout_percent": {"10"}})
	wantStatus(t, "developer changes the account", r, http.StatusForbidden)
	r = dev.get("/dashboard/test/audit")
	wantStatus(t, "developer's audit log", r, http.StatusForbidden)

	// The viewer reads usage and keys, with no key actions.
	r = viewer.get("/dashboard/test/usage")
	wantStatus(t, "viewer's usage", r, http.StatusOK)
	r = viewer.get("/dashboard/test/keys")
	wantLacks(t, "viewer's keys page", r.body, `id="new-key"`, ">Roll<", ">Revoke<")
	wantContains(t, "viewer's keys page", r.body, "Your role (viewer) reads keys")
	r = viewer.submit("/dashboard/test/keys", "/dashboard/test/keys", url.Values{"name": {"x"}, "scopes": {"context"}, "expires_in_days": {"0"}})
	wantStatus(t, "viewer creates a key", r, http.StatusForbidden)
	keys, err := e.svc.Keys(context.Background(), e.account("owner@example.com").ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys after the viewer's attempt: %d, %v", len(keys), err)
	}
	r = viewer.get("/dashboard/test/keys/" + keys[0].ID + "/revoke")
	wantStatus(t, "viewer's revoke page", r, http.StatusForbidden)

	// The owner removes the developer, who is signed out at once.
	devID := memberID(t, owner.get("/dashboard/test/members").body, "dev@example.com")
	r = owner.submit("/dashboard/test/members", "/dashboard/test/members/"+devID+"/remove", nil)
	wantStatus(t, "remove", r, http.StatusSeeOther)
	r = dev.get("/dashboard/test/keys")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/dashboard/login") {
		t.Errorf("a removed member's page: %d → %s", r.status, r.location())
	}

	// The audit log shows it all, without secrets.
	r = owner.get("/dashboard/test/audit")
	wantStatus(t, "audit log", r, http.StatusOK)
	wantContains(t, "audit log", r.body, "Events are kept 400 days.", "member.removed", "member.joined", "member.invited", "key.created", "dev@example.com")
	wantLacks(t, "audit log", r.body, tok)
}

var memberRowRE = regexp.MustCompile(`/dashboard/test/members/(usr_[A-Za-z0-9_]+)/remove"[^>]*>\s*<input[^>]*>\s*<button[^>]*aria-label="Remove ([^"]+)"`)

func memberID(t *testing.T, body, email string) string {
	t.Helper()
	for _, m := range memberRowRE.FindAllStringSubmatch(body, -1) {
		if m[2] == email {
			return m[1]
		}
	}
	t.Fatalf("no remove button for %s", email)
	return ""
}

// A reset link from the operator sets the password and signs every
// session out; without a mailer, the forgot page says to ask the operator.
func TestResetPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	r := e.client().get("/dashboard/forgot")
	wantStatus(t, "forgot page", r, http.StatusOK)
	wantContains(t, "forgot page", r.body, "amp users reset-password")
	wantContains(t, "login page", e.client().get("/dashboard/login").body, `href="/dashboard/forgot"`)

	secret, err := e.svc.IssueResetLink(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	link := "/dashboard/reset?t=" + url.QueryEscape(secret)
	b := e.client()
	r = b.get(link)
	wantStatus(t, "reset page", r, http.StatusOK)
	wantContains(t, "reset page", r.body, "ada@example.com")
	r = b.submit(link, "/dashboard/reset", url.Values{"t": {secret}, "password": {"short"}})
	wantStatus(t, "a short password", r, http.StatusBadRequest)
	wantContains(t, "a short password", r.body, `id="password-error"`)
	r = b.submit(link, "/dashboard/reset", url.Values{"t": {secret}, "password": {"another long password"}})
	if r.status != http.StatusSeeOther || r.location() != "/dashboard/login?done=reset" {
		t.Fatalf("reset: %d → %s", r.status, r.location())
	}
	// The old session is gone.
	r = c.get("/dashboard/test/keys")
	if r.status != http.StatusSeeOther {
		t.Errorf("the old session after a reset: %d", r.status)
	}
	wantStatus(t, "sign-in with the new password", b.login("ada@example.com", "another long password"), http.StatusSeeOther)
	r = e.client().get(link)
	wantStatus(t, "a used reset link", r, http.StatusNotFound)
}

var totpSecretRE = regexp.MustCompile(`<code class="mono" id="totp-secret">([A-Z2-7]+)</code>`)

// setupTwoFactor turns on two-factor sign-in through the settings page and
// returns the secret.
func (c *client) setupTwoFactor() string {
	c.t.Helper()
	r := c.submit("/dashboard/test/settings", "/dashboard/test/settings/two-factor", nil)
	wantStatus(c.t, "two-factor setup", r, http.StatusSeeOther)
	r = c.follow(r)
	wantStatus(c.t, "two-factor setup", r, http.StatusOK)
	wantContains(c.t, "two-factor setup", r.body, `src="data:image/png;base64,`)
	m := totpSecretRE.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no secret on the setup page:\n%s", r.body)
	}
	r = c.submit("/dashboard/test/settings", "/dashboard/test/settings/two-factor/enable", url.Values{"secret": {m[1]}, "code": {"000000"}})
	wantStatus(c.t, "a wrong setup code", r, http.StatusBadRequest)
	wantContains(c.t, "a wrong setup code", r.body, `id="totp-code-error"`)
	code, err := totp.Code(m[1], c.e.clock.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	r = c.submit("/dashboard/test/settings", "/dashboard/test/settings/two-factor/enable", url.Values{"secret": {m[1]}, "code": {code}})
	wantStatus(c.t, "two-factor enable", r, http.StatusSeeOther)
	codesPage := r.location()
	r = c.follow(r)
	wantStatus(c.t, "recovery codes", r, http.StatusOK)
	wantContains(c.t, "recovery codes", r.body, `aria-label="Recovery codes"`)
	// A reload shows the codes no more.
	r = c.get(codesPage)
	wantStatus(c.t, "recovery codes reloaded", r, http.StatusOK)
	wantLacks(c.t, "recovery codes reloaded", r.body, `aria-label="Recovery codes"`)
	wantContains(c.t, "recovery codes reloaded", r.body, "were shown once")
	return m[1]
}

var challengeRE = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// Signing in with two-factor on takes a code; a code works once.
func TestTwoFactorPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	secret := c.setupTwoFactor()
	e.clock.Advance(totp.Period)

	b := e.client()
	r := b.login("ada@example.com", testPassword)
	wantStatus(t, "password step", r, http.StatusOK)
	wantContains(t, "password step", r.body, `autocomplete="one-time-code"`)
	ch := challengeRE.FindStringSubmatch(r.body)
	if ch == nil {
		t.Fatal("no challenge on the code page")
	}
	code, _ := totp.Code(secret, e.clock.Now())
	r = b.submit("/dashboard/login", "/dashboard/login/code", url.Values{"challenge": {html.UnescapeString(ch[1])}, "code": {"111111"}})
	wantStatus(t, "a wrong code", r, http.StatusUnauthorized)
	r = b.submit("/dashboard/login", "/dashboard/login/code", url.Values{"challenge": {html.UnescapeString(ch[1])}, "code": {code}})
	wantStatus(t, "the right code", r, http.StatusSeeOther)
	wantStatus(t, "signed in", b.get("/dashboard/test/keys"), http.StatusOK)

	// The same code again, from another browser, is refused.
	o := e.client()
	r = o.login("ada@example.com", testPassword)
	ch = challengeRE.FindStringSubmatch(r.body)
	r = o.submit("/dashboard/login", "/dashboard/login/code", url.Values{"challenge": {html.UnescapeString(ch[1])}, "code": {code}})
	wantStatus(t, "a replayed code", r, http.StatusUnauthorized)
	wantContains(t, "a replayed code", r.body, "already used")
}

// The Requests page finds a failed call by the request id of its error
// answer, and filters by status and key.
func TestRequestsPage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	a := e.account("ada@example.com")
	k, err := e.svc.CreateKey(context.Background(), a.ID, amp.ModeTest, service.KeyOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if status, body := e.api("POST", "/v1/context", k.Secret, "203.0.113.8", contextBody("u1")); status != http.StatusOK {
		t.Fatalf("context: %d %s", status, body)
	}
	status, body := e.api("POST", "/v1/context", k.Secret, "203.0.113.8", `{"userId": ""}`)
	if status != http.StatusBadRequest {
		t.Fatalf("bad context: %d %s", status, body)
	}
	var env amp.ErrorBody
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.RequestID == "" {
		t.Fatalf("no requestId in %s (%v)", body, err)
	}
	// The service's writer runs once a second (newEnv runs it): wait for
	// the entry by polling the page, a bounded wait for a background write,
	// not a timing assertion.
	var r *response
	for range 400 {
		r = c.get("/dashboard/test/requests?request_id=" + url.QueryEscape(env.Error.RequestID))
		if strings.Contains(r.body, env.Error.Code) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantStatus(t, "requests page", r, http.StatusOK)
	wantContains(t, "search by request id", r.body, env.Error.RequestID, env.Error.Code, "POST /v1/context", ">400<", "ci")
	r = c.get("/dashboard/test/requests?status=2xx")
	wantContains(t, "2xx", r.body, ">200<")
	wantLacks(t, "2xx", r.body, env.Error.Code)
	r = c.get("/dashboard/test/requests?status=teapot")
	wantStatus(t, "bad status", r, http.StatusBadRequest)
	wantContains(t, "bad status", r.body, `id="rq-status-error"`)
	r = c.get("/dashboard/live/requests")
	wantContains(t, "live requests", r.body, "No requests match.")
}

var nextUsersRE = regexp.MustCompile(`<a class="button" href="([^"]+)">More users</a>`)

// The Profiles page lists users most recently seen first, filters by
// userId prefix and pages.
func TestProfileListPage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	a := e.account("ada@example.com")
	k, err := e.svc.CreateKey(context.Background(), a.ID, amp.ModeTest, service.KeyOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		e.clock.Advance(time.Second)
		if status, body := e.api("POST", "/v1/context", k.Secret, "203.0.113.8", contextBody(fmt.Sprintf("cust-%02d", i))); status != http.StatusOK {
			t.Fatalf("context: %d %s", status, body)
		}
	}
	e.clock.Advance(time.Second)
	e.api("POST", "/v1/context", k.Secret, "203.0.113.8", contextBody("vip-1"))
	r := c.get("/dashboard/test/profiles")
	wantStatus(t, "profiles", r, http.StatusOK)
	first, second := strings.Index(r.body, ">vip-1<"), strings.Index(r.body, ">cust-29<")
	if first < 0 || second < 0 || first > second {
		t.Fatalf("the list is not most recent first (vip-1 at %d, cust-29 at %d)", first, second)
	}
	wantLacks(t, "first page", r.body, ">cust-05<")
	m := nextUsersRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no next page link")
	}
	r = c.get(html.UnescapeString(m[1]))
	wantContains(t, "second page", r.body, ">cust-05<", ">cust-00<")
	wantLacks(t, "second page", r.body, ">vip-1<", "More users")
	r = c.get("/dashboard/test/profiles?prefix=vip")
	wantContains(t, "prefix", r.body, ">vip-1<")
	wantLacks(t, "prefix", r.body, ">cust-")
	r = c.get("/dashboard/test/profiles?prefix=" + url.QueryEscape("bad id\x01"))
	wantStatus(t, "bad prefix", r, http.StatusBadRequest)
	wantContains(t, "bad prefix", r.body, `id="prefix-error"`)
	wantContains(t, "live", c.get("/dashboard/live/profiles").body, "No profiles in live mode yet.")
}

// The key form reports every mistake at once, each next to its field.
func TestKeyFormFieldErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	r := c.submit("/dashboard/test/keys", "/dashboard/test/keys", url.Values{"name": {" "}, "expires_in_days": {"12"}})
	wantStatus(t, "bad key form", r, http.StatusBadRequest)
	wantContains(t, "bad key form", r.body, `id="key-name-error"`, `id="key-scopes-error"`, `id="key-expiry-error"`, `aria-invalid="true"`)
	r = c.submit("/dashboard/test/keys", "/dashboard/test/keys", url.Values{"name": {"ci"}, "scopes": {"context"}, "expires_in_days": {"0"}, "rate_limit": {"999999"}})
	wantStatus(t, "rate above the plan", r, http.StatusBadRequest)
	wantContains(t, "rate above the plan", r.body, `id="key-rate-error"`)
	wantLacks(t, "rate above the plan", r.body, `id="key-name-error"`)
}

// One login in two accounts: an invitation to an email with a login is
// accepted by signing in with it; the header switches accounts; each page
// shows the role of the account it shows; removal from one account keeps
// the other.
func TestOneLoginTwoAccounts(t *testing.T) {
	e := newEnv(t)
	owner := e.client()
	owner.signup("owner@example.com")
	team := e.account("owner@example.com")
	ada := e.client()
	ada.signup("ada@example.com")
	home := e.account("ada@example.com")
	r := ada.get("/dashboard/test/keys")
	wantLacks(t, "one account's header", r.body, `aria-label="Switch account"`)

	link := owner.invite("ada@example.com", amp.RoleDeveloper)
	tok := mustURL(t, e.srv.URL+link).Query().Get("t")
	// Without a session, a new login for her email is refused, with the
	// way to sign in and come back.
	stranger := e.client()
	r = stranger.get(link)
	wantContains(t, "join page, signed out", r.body, "Already have an AMP login?", "/dashboard/login?next=")
	r = stranger.submit(link, "/dashboard/join", url.Values{"t": {tok}, "email": {"ada@example.com"}, "password": {testPassword}})
	wantStatus(t, "a new login for a taken email", r, http.StatusBadRequest)
	wantContains(t, "a new login for a taken email", r.body, "already has an AMP login", `id="email-error"`)

	// Signed in, she joins with her login.
	r = ada.get(link)
	wantStatus(t, "join page, signed in", r, http.StatusOK)
	wantContains(t, "join page, signed in", r.body, "You are signed in as <strong>ada@example.com</strong>", `action="/dashboard/join/as"`)
	r = ada.submit(link, "/dashboard/join/as", url.Values{"t": {tok}})
	wantStatus(t, "join as ada", r, http.StatusSeeOther)
	r = ada.follow(r)
	wantContains(t, "keys after joining", r.body, "Welcome to "+html.EscapeString(team.Name), `aria-label="Switch account"`,
		html.EscapeString(home.Name), "(developer)")
	// The link was used once.
	wantStatus(t, "the used link", ada.get(link), http.StatusNotFound)

	// In Team she is a developer: keys yes, members no.
	ada.createKey(amp.ModeTest, keyForm("ada-in-team", amp.ModeTest, amp.AllScopes...))
	if k := e.keyByName(team.ID, "ada-in-team"); k.AccountID != team.ID {
		t.Fatalf("her key went to %s", k.AccountID)
	}
	r = ada.get("/dashboard/test/members")
	wantLacks(t, "a developer's members page", r.body, "Invite a member")
	r = ada.get("/dashboard/test/audit")
	wantStatus(t, "a developer's audit log", r, http.StatusForbidden)

	// Switched home, she is the owner there.
	r = ada.submit("/dashboard/test/keys", "/dashboard/switch", url.Values{"account": {home.ID}, "mode": {"live"}})
	wantStatus(t, "switch", r, http.StatusSeeOther)
	if r.location() != "/dashboard/live/keys?done=switched" {
		t.Errorf("switch goes to %q", r.location())
	}
	r = ada.follow(r)
	wantContains(t, "keys after switching", r.body, "You are now working in "+html.EscapeString(home.Name)+", as owner.", "(owner)")
	wantStatus(t, "the owner's audit log", ada.get("/dashboard/test/audit"), http.StatusOK)
	wantLacks(t, "keys at home", ada.get("/dashboard/test/keys").body, "ada-in-team")
	// An account she is not in.
	r = ada.submit("/dashboard/test/keys", "/dashboard/switch", url.Values{"account": {"acct_nope"}})
	wantStatus(t, "switch to another's account", r, http.StatusNotFound)

	// Team's owner removes her: her session, at home, goes on; the
	// switcher is gone.
	adaUser, err := e.db.DashboardUserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	r = owner.submit("/dashboard/test/members", "/dashboard/test/members/"+adaUser.ID+"/remove", nil)
	wantStatus(t, "remove ada", r, http.StatusSeeOther)
	r = ada.get("/dashboard/test/keys")
	wantStatus(t, "ada at home after the removal", r, http.StatusOK)
	wantLacks(t, "ada at home after the removal", r.body, `aria-label="Switch account"`)
}
