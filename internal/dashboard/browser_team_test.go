package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/totp"
)

// The team walk in headless Chromium: the first-run link claims the
// default account; its owner invites a developer, who turns on two-factor
// sign-in, signs in with a code and creates a key but sees no member or
// account controls; a viewer sees usage and no key actions; the owner
// removes the developer; the operator's reset link lets the viewer back
// in and ends their old sessions. Every new page is screenshot at both
// widths and audited as in TestBrowserEndToEnd.
func TestBrowserTeam(t *testing.T) {
	path, dir := browserSetup(t, "amp-dashboard-team-screenshots-")

	e := newEnv(t)
	ctx0 := context.Background()
	def, firstKey, err := e.svc.EnsureDefaultAccount(ctx0)
	if err != nil || firstKey == "" {
		t.Fatal(err)
	}
	// Two requests with the printed key, for the Requests page.
	e.api("POST", "/v1/context", firstKey, "203.0.113.8", contextBody("customer-1"))
	e.api("POST", "/v1/context", firstKey, "203.0.113.8", `{"userId": ""}`)
	setup, err := e.svc.SetupLink(ctx0)
	if err != nil || setup == "" {
		t.Fatalf("SetupLink = %q, %v", setup, err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// A guard against a hung browser, not an assertion about speed.
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelTimeout()
	b := &browserRun{t: t, ctx: ctx, e: e, dir: dir}
	signOut := func() {
		t.Helper()
		b.do("sign out", chromedp.Click(chromedp.CSS(`.who form[action="/dashboard/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	}
	join := func(link, email, name string) {
		t.Helper()
		b.open(link, "#password")
		b.page(name)
		if email != "" {
			b.do("email", chromedp.SendKeys(chromedp.CSS("#email"), email))
		}
		b.do("join", chromedp.SendKeys(chromedp.CSS("#password"), testPassword), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".flash")))
	}

	// First run: the setup link claims the default account and its key.
	join("/dashboard/join?t="+url.QueryEscape(setup), "owner@example.com", "join-setup")
	if got := b.text(".flash"); !strings.Contains(got, "owner of this account") {
		t.Errorf("after the setup link the flash says %q", got)
	}
	if got := b.text("table.keys"); !strings.Contains(got, "first test key") {
		t.Errorf("the claimed account lacks the printed key: %q", got)
	}
	if a := e.account("owner@example.com"); a.ID != def.ID {
		t.Fatalf("the setup link gave account %s, want the default %s", a.ID, def.ID)
	}
	b.keyboard("/dashboard/test/members", "#invite-email")

	// Invite a developer and a viewer.
	invite := func(email string, role amp.Role) string {
		t.Helper()
		b.open("/dashboard/test/members", "#invite-email")
		b.do("invite "+email,
			chromedp.SendKeys(chromedp.CSS("#invite-email"), email),
			chromedp.SetValue(chromedp.CSS("#invite-role"), string(role)),
			chromedp.Click(chromedp.CSS(`#invite ~ form button[type="submit"], form[action$="/members/invite"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#invite-url")),
		)
		link, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#invite-url")))
		if err != nil {
			t.Fatal(err)
		}
		return mustURL(t, link).RequestURI()
	}
	devLink := invite("dev@example.com", amp.RoleDeveloper)
	b.page("members-invited")
	viewerLink := invite("", amp.RoleViewer)
	b.open("/dashboard/test/members", "#invite-email")
	b.page("members")
	signOut()

	// The developer joins, turns on two-factor sign-in and signs in with
	// a code.
	join(devLink, "", "join-invite")
	b.open("/dashboard/test/settings", "#two-factor-settings")
	b.do("begin two-factor", chromedp.Click(chromedp.CSS(`form[action$="/settings/two-factor"] button`)), chromedp.WaitVisible(chromedp.CSS("#totp-code")))
	b.page("two-factor-setup")
	secret := b.text("#totp-secret")
	code, err := totp.Code(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.do("enable two-factor", chromedp.SendKeys(chromedp.CSS("#totp-code"), code), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".recovery-codes")))
	b.page("two-factor-codes")
	signOut()
	e.clock.Advance(totp.Period)
	b.do("password step",
		chromedp.SendKeys(chromedp.CSS("#email"), "dev@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	b.page("login-code")
	code, _ = totp.Code(secret, e.clock.Now())
	b.do("code step", chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#key-name")))
	b.do("create key",
		chromedp.SendKeys(chromedp.CSS("#key-name"), "dev key"),
		chromedp.Click(chromedp.CSS(`button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS("#secret-key")),
	)
	b.open("/dashboard/test/members", "#member-list")
	if got := b.text("main"); strings.Contains(got, "Invite a member") || strings.Contains(got, "Remove") {
		t.Errorf("the developer sees member controls")
	}
	b.page("members-developer")
	b.open("/dashboard/test/settings", "#account-settings")
	if n := eval[int](b, "account form", `document.querySelectorAll('form[action$="/settings/account"]').length`); n != 0 {
		t.Errorf("the developer sees the account form")
	}
	b.open("/dashboard/test/plan", "main h1")
	if got := b.text(".sidebar"); strings.Contains(got, "Audit log") {
		t.Errorf("the developer's menu offers the audit log")
	}
	signOut()

	// The viewer sees usage and keys, and no key actions.
	join(viewerLink, "viewer@example.com", "join-viewer")
	b.open("/dashboard/test/usage", "main h1")
	b.page("usage-viewer")
	// An unknown window is a 404 in the dashboard's frame.
	b.open("/dashboard/test/usage?window=999d", "main h1")
	if got := b.text("main"); !strings.Contains(got, "No such usage window") {
		t.Errorf("the page of an unknown window says %q", got)
	}
	b.page("usage-unknown-window")
	b.open("/dashboard/test/requests", "main h1")
	b.page("requests-viewer")
	b.open("/dashboard/test/keys", "table.keys")
	if n := eval[int](b, "key actions", `document.querySelectorAll('#key-name, a[href$="/roll"], a[href$="/revoke"]').length`); n != 0 {
		t.Errorf("the viewer sees %d key actions", n)
	}
	b.page("keys-viewer")
	signOut()

	// The owner removes the developer and reads the audit log.
	b.do("owner signs in",
		chromedp.SendKeys(chromedp.CSS("#email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#key-name")),
	)
	b.open("/dashboard/test/members", "#member-list")
	b.do("remove the developer", chromedp.Click(chromedp.CSS(`button[aria-label="Remove dev@example.com"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text("#member-list + .table-wrap"); strings.Contains(got, "dev@example.com") {
		t.Errorf("the removed developer is still listed")
	}
	b.open("/dashboard/test/audit", "main h1")
	for _, want := range []string{"member.removed", "user.two_factor", "key.created", "account.claimed"} {
		if !strings.Contains(b.text("main"), want) {
			t.Errorf("the audit log lacks %s", want)
		}
	}
	b.page("audit")
	signOut()

	// Recovery: the viewer is signed in elsewhere; the operator's link
	// sets a new password and that session dies.
	other := e.client()
	wantStatus(t, "viewer signs in elsewhere", other.login("viewer@example.com", testPassword), http.StatusSeeOther)
	reset, err := e.svc.IssueResetLink(ctx0, "viewer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b.open("/dashboard/forgot", "main h1")
	b.page("forgot")
	b.open("/dashboard/reset?t="+url.QueryEscape(reset), "#password")
	b.page("reset")
	b.do("reset",
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new password"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if r := other.get("/dashboard/test/keys"); r.status != http.StatusSeeOther {
		t.Errorf("the viewer's old session after the reset: %d", r.status)
	}
	b.do("viewer signs in",
		chromedp.SendKeys(chromedp.CSS("#email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new password"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("table.keys")),
	)
	b.keyboard("/dashboard/forgot", "main h1")

	// One login, two accounts: another account's owner invites the
	// viewer, who joins with her login, signed in, and switches between
	// the accounts from the header.
	second := e.client()
	second.signup("second@example.com")
	secondLink := second.invite("viewer@example.com", amp.RoleAdmin)
	b.open(secondLink, "#join-as")
	b.page("join-signed-in")
	b.do("join as the viewer", chromedp.Click(chromedp.CSS("#join-as")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); !strings.Contains(got, "admin of this account") {
		t.Errorf("after joining with her login the flash says %q", got)
	}
	b.do("open the account switcher", chromedp.Click(chromedp.CSS(".account-switch summary")),
		chromedp.WaitVisible(chromedp.CSS(`.account-switch form[action="/dashboard/switch"] button`)))
	b.page("account-switch")
	// The page it leaves has a flash too: take it away, so that the flash
	// waited for is the next page's.
	eval[bool](b, "remove the old flash", `document.querySelector('.flash').remove() === undefined`)
	b.do("switch to the default account", chromedp.Click(chromedp.CSS(`.account-switch form[action="/dashboard/switch"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); !strings.Contains(got, "as viewer") {
		t.Errorf("after switching the flash says %q", got)
	}
	if n := eval[int](b, "key actions", `document.querySelectorAll('#key-name, a[href$="/roll"], a[href$="/revoke"]').length`); n != 0 {
		t.Errorf("back in the default account the viewer sees %d key actions", n)
	}
	// The switcher works from the keyboard: focus its summary, open it
	// with Enter.
	b.do("keyboard switcher", chromedp.Focus(chromedp.CSS(".account-switch summary")), chromedp.KeyEvent(kb.Enter))
	if open := eval[bool](b, "switcher open", `document.querySelector('.account-switch').open`); !open {
		t.Errorf("Enter on the account switcher does not open it")
	}
}
