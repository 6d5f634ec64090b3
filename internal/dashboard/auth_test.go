package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/dashboard"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/service"
)

func TestSignupLoginLogout(t *testing.T) {
	e := newEnv(t)
	c := e.client()

	r := c.get("/dashboard/")
	wantStatus(t, "GET /dashboard/ signed out", r, http.StatusSeeOther)
	if r.location() != "/dashboard/login" {
		t.Errorf("signed-out root redirects to %q, want /dashboard/login", r.location())
	}
	r = c.get("/dashboard/test/keys")
	wantStatus(t, "a page signed out", r, http.StatusSeeOther)
	if want := "/dashboard/login?next=" + url.QueryEscape("/dashboard/test/keys"); r.location() != want {
		t.Errorf("a page signed out redirects to %q, want %q", r.location(), want)
	}

	r = c.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {" Ada@Example.com "}, "password": {testPassword}, "account_name": {"Analytical Engines"}})
	wantStatus(t, "sign-up", r, http.StatusSeeOther)
	if r.location() != "/dashboard/test/keys?done=welcome" {
		t.Errorf("sign-up redirects to %q", r.location())
	}
	a := e.account("ada@example.com")
	if a.Name != "Analytical Engines" || a.Plan != "starter" {
		t.Errorf("new account: name %q plan %q, want Analytical Engines, starter", a.Name, a.Plan)
	}
	r = c.get(r.location())
	wantStatus(t, "keys page after sign-up", r, http.StatusOK)
	wantContains(t, "keys page", r.body, "Analytical Engines", "Welcome to AMP", "Test data", "Live data", "API Keys", "Usage", "Profiles", "Plan", "Settings")

	// Sign out ends the session on the server, not only in the browser.
	token := c.cookie("amp_session")
	r = c.submit("/dashboard/test/keys", "/dashboard/logout", nil)
	wantStatus(t, "sign-out", r, http.StatusSeeOther)
	other := e.client()
	other.jar.SetCookies(mustURL(t, e.srv.URL+"/"), []*http.Cookie{{Name: "amp_session", Value: token, Path: "/"}})
	r = other.get("/dashboard/test/keys")
	wantStatus(t, "the signed-out session replayed", r, http.StatusSeeOther)

	r = c.login("ada@example.com", "wrong password here")
	wantStatus(t, "sign-in with a wrong password", r, http.StatusUnauthorized)
	wantContains(t, "failed sign-in", r.body, "Incorrect email or password.")
	r = c.login("ADA@example.com", testPassword)
	wantStatus(t, "sign-in", r, http.StatusSeeOther)
	r = c.get("/dashboard/")
	wantStatus(t, "root signed in", r, http.StatusSeeOther)
	if r.location() != "/dashboard/test/keys" {
		t.Errorf("signed-in root redirects to %q", r.location())
	}
	// The mode last shown is remembered.
	wantStatus(t, "live keys", c.get("/dashboard/live/keys"), http.StatusOK)
	if r := c.get("/dashboard/"); r.location() != "/dashboard/live/keys" {
		t.Errorf("root after a live page redirects to %q, want /dashboard/live/keys", r.location())
	}
}

func TestLoginNext(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	c.submit("/dashboard/test/keys", "/dashboard/logout", nil)
	for _, tc := range []struct{ next, want string }{
		{"/dashboard/live/usage", "/dashboard/live/usage"},
		{"//evil.example/dashboard/", "/dashboard/"},
		{"https://evil.example/dashboard/", "/dashboard/"},
		{"/dashboard/\\evil", "/dashboard/"},
		{"/v1/context", "/dashboard/"},
	} {
		r := c.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {tc.next}})
		wantStatus(t, "sign-in with next "+tc.next, r, http.StatusSeeOther)
		if r.location() != tc.want {
			t.Errorf("sign-in with next %q redirects to %q, want %q", tc.next, r.location(), tc.want)
		}
		c.submit("/dashboard/test/keys", "/dashboard/logout", nil)
	}
}

func TestSignupValidation(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, tc := range []struct {
		name, email, password, msg string
	}{
		{"BadEmail", "not-an-email", testPassword, "Enter a valid email address."},
		{"NoDomainDot", "ada@localhost", testPassword, "Enter a valid email address."},
		{"DisplayName", "Ada <ada@example.com>", testPassword, "Enter a valid email address."},
		{"ShortPassword", "ada@example.com", "short", "at least 12 characters"},
		{"LongPassword", "ada@example.com", strings.Repeat("x", amp.MaxPasswordBytes+1), "at most 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {tc.email}, "password": {tc.password}})
			wantStatus(t, "sign-up", r, http.StatusBadRequest)
			wantContains(t, "sign-up", r.body, tc.msg)
		})
	}
	accts, err := e.db.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 0 {
		t.Errorf("refused sign-ups created %d accounts", len(accts))
	}
}

func TestSignupClosed(t *testing.T) {
	e := newEnv(t, withService(func(c *service.Config) { c.AllowSignup = false }))
	c := e.client()
	r := c.get("/dashboard/signup")
	wantStatus(t, "GET signup", r, http.StatusNotFound)
	wantContains(t, "closed sign-up", r.body, "Sign-up is closed")
	wantLacks(t, "sign-in page", c.get("/dashboard/login").body, "Create an account")
	form := url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "csrf_token": {c.csrf("/dashboard/login")}}
	wantStatus(t, "POST signup", c.post("/dashboard/signup", form), http.StatusNotFound)
	accts, err := e.db.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 0 {
		t.Errorf("a closed sign-up created %d accounts", len(accts))
	}

	// The operator adds users instead, here to an existing account.
	a, err := e.svc.CreateAccount(context.Background(), "default", "starter", 0)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.AddUser(context.Background(), service.NewUser{Email: "Ops@Example.com", Password: testPassword, AccountID: a.ID})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	if u.AccountID != a.ID || u.Email != "ops@example.com" {
		t.Errorf("AddUser: account %q email %q", u.AccountID, u.Email)
	}
	wantStatus(t, "the added user signs in", c.login("ops@example.com", testPassword), http.StatusSeeOther)
	if _, err := e.svc.AddUser(context.Background(), service.NewUser{Email: "two@example.com", Password: testPassword, AccountID: a.ID}); err == nil {
		t.Error("AddUser: a second user of one account was accepted")
	}
	if _, err := e.svc.AddUser(context.Background(), service.NewUser{Email: "x@example.com", Password: "short"}); err == nil {
		t.Error("AddUser: a short password was accepted")
	}
}

// An unknown email and a wrong password get the same answer; a taken email
// at sign-up is not revealed as such.
func TestNoEnumeration(t *testing.T) {
	e := newEnv(t)
	owner := e.client()
	owner.signup("ada@example.com")

	c := e.client()
	unknown := c.login("nobody@example.com", "some wrong password")
	wrong := c.login("ada@example.com", "some wrong password")
	if unknown.status != wrong.status {
		t.Errorf("status: unknown email %d, wrong password %d", unknown.status, wrong.status)
	}
	norm := func(body, email string) string {
		body = strings.ReplaceAll(body, email, "EMAIL")
		return csrfField.ReplaceAllString(body, "CSRF")
	}
	if a, b := norm(unknown.body, "nobody@example.com"), norm(wrong.body, "ada@example.com"); a != b {
		t.Errorf("the pages differ for an unknown email and a wrong password:\n%s\n---\n%s", a, b)
	}

	r := c.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {"ada@example.com"}, "password": {"another long password"}})
	wantStatus(t, "sign-up with a taken email", r, http.StatusBadRequest)
	wantContains(t, "sign-up with a taken email", r.body, "We could not create an account with these details.")
	for _, leak := range []string{"taken", "already exists", "already registered", "in use"} {
		if strings.Contains(strings.ToLower(r.body), leak) {
			t.Errorf("sign-up with a taken email says %q", leak)
		}
	}
	accts, err := e.db.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 1 {
		t.Errorf("%d accounts after a refused sign-up, want 1", len(accts))
	}
}

// Session cookies are HttpOnly, SameSite and, under TLS, Secure with the
// __Host- prefix.
func TestSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, withDashboard(func(c *dashboard.Config) { c.Secure = secure }))
		c := e.client()
		// Cookies marked Secure are not sent back over plain HTTP, so the
		// response is inspected directly.
		r := c.get("/dashboard/signup")
		csrf := csrfField.FindStringSubmatch(r.body)[1]
		var pre *http.Cookie
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			pre = ck
		}
		if pre == nil {
			t.Fatal("no pre-session cookie")
		}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/dashboard/signup",
			strings.NewReader(url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "csrf_token": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("secure=%v: sign-up status %d", secure, res.StatusCode)
		}
		var sess *http.Cookie
		for _, ck := range res.Cookies() {
			if strings.HasSuffix(ck.Name, "amp_session") {
				sess = ck
			}
		}
		if sess == nil {
			t.Fatalf("secure=%v: no session cookie set", secure)
		}
		wantName := "amp_session"
		if secure {
			wantName = "__Host-amp_session"
		}
		if sess.Name != wantName || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure != secure || sess.Path != "/" || sess.Domain != "" {
			t.Errorf("secure=%v: session cookie %+v", secure, sess)
		}
		if len(sess.Value) < 43 {
			t.Errorf("session token of %d characters, want at least 43 (256 bits)", len(sess.Value))
		}
		if secure && !strings.Contains(res.Header.Get("Strict-Transport-Security"), "max-age") {
			t.Error("no Strict-Transport-Security under TLS")
		}
	}
}

// TestDeviceCookie: a sign-in leaves the browser the service's device token
// in a long-lived, HttpOnly, SameSite=Strict cookie, which a sign-out keeps
// and the next sign-in renews; a failed sign-in sets none.
func TestDeviceCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	if c.cookie("amp_device") != "" {
		t.Error("a sign-up set a device cookie")
	}
	c.submit("/dashboard/test/keys", "/dashboard/logout", nil)
	if r := c.login("ada@example.com", "wrong password!!"); r.status != http.StatusUnauthorized || strings.Contains(r.header.Get("Set-Cookie"), "amp_device") {
		t.Fatalf("failed sign-in: HTTP %d, cookies %q", r.status, r.header.Values("Set-Cookie"))
	}
	r := c.login("ada@example.com", testPassword)
	wantStatus(t, "sign-in", r, http.StatusSeeOther)
	var dev *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "amp_device" {
			dev = ck
		}
	}
	if dev == nil || dev.Value == "" || !dev.HttpOnly || dev.SameSite != http.SameSiteStrictMode || dev.Path != "/" ||
		dev.MaxAge < 300*24*3600 {
		t.Fatalf("device cookie %+v, want a long-lived HttpOnly SameSite=Strict one", dev)
	}
	c.submit("/dashboard/test/keys", "/dashboard/logout", nil)
	if got := c.cookie("amp_device"); got != dev.Value {
		t.Errorf("after sign-out the device cookie is %q, want it kept", got)
	}
	wantStatus(t, "second sign-in", c.login("ada@example.com", testPassword), http.StatusSeeOther)
	if c.cookie("amp_device") == "" {
		t.Error("the second sign-in dropped the device cookie")
	}
}

// Session fixation: a token planted before sign-in is worthless after it,
// and every sign-in issues a new token and ends the browser's old session.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	victim := e.client()
	victim.signup("ada@example.com")
	victim.submit("/dashboard/test/keys", "/dashboard/logout", nil)

	// The attacker plants a well-formed token of its choice.
	planted := strings.Repeat("A", 43)
	victim.jar.SetCookies(mustURL(t, e.srv.URL+"/"), []*http.Cookie{{Name: "amp_session", Value: planted, Path: "/"}})
	wantStatus(t, "sign-in", victim.login("ada@example.com", testPassword), http.StatusSeeOther)
	got := victim.cookie("amp_session")
	if got == planted || got == "" {
		t.Fatalf("after sign-in the session token is %q, want a new one", got)
	}
	attacker := e.client()
	attacker.jar.SetCookies(mustURL(t, e.srv.URL+"/"), []*http.Cookie{{Name: "amp_session", Value: planted, Path: "/"}})
	wantStatus(t, "the planted token", attacker.get("/dashboard/test/keys"), http.StatusSeeOther)

	// An attacker who learnt a real token before the victim signs in again
	// loses it at that sign-in.
	before := victim.cookie("amp_session")
	attacker.jar.SetCookies(mustURL(t, e.srv.URL+"/"), []*http.Cookie{{Name: "amp_session", Value: before, Path: "/"}})
	wantStatus(t, "the stolen token before re-sign-in", attacker.get("/dashboard/test/keys"), http.StatusOK)
	wantStatus(t, "re-sign-in", victim.loginFromNewTab("ada@example.com", testPassword), http.StatusSeeOther)
	after := victim.cookie("amp_session")
	if after == before {
		t.Fatal("a second sign-in kept the session token")
	}
	wantStatus(t, "the old token after re-sign-in", attacker.get("/dashboard/test/keys"), http.StatusSeeOther)
	wantStatus(t, "the new token", victim.get("/dashboard/test/keys"), http.StatusOK)
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	// Activity keeps a session alive past the idle timeout...
	for range 3 {
		e.clock.Advance(service.DefaultSessionIdle - time.Minute)
		wantStatus(t, "an active session", c.get("/dashboard/test/keys"), http.StatusOK)
	}
	// ...but not past its lifetime.
	e.clock.Advance(service.DefaultSessionLifetime)
	wantStatus(t, "a session past its lifetime", c.get("/dashboard/test/keys"), http.StatusSeeOther)

	c.login("ada@example.com", testPassword)
	wantStatus(t, "a new session", c.get("/dashboard/test/keys"), http.StatusOK)
	e.clock.Advance(service.DefaultSessionIdle)
	wantStatus(t, "an idle session", c.get("/dashboard/test/keys"), http.StatusSeeOther)
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	c.submit("/dashboard/test/keys", "/dashboard/logout", nil)

	t.Run("PerEmailAndAddress", func(t *testing.T) {
		for i := range ratelimit.PairBurst {
			wantStatus(t, "wrong password "+string(rune('0'+i)), c.login("ada@example.com", "wrong password!!"), http.StatusUnauthorized)
		}
		// From this address even the right password must wait, with the
		// same answer as for an email that has no account.
		r := c.login("ada@example.com", testPassword)
		wantStatus(t, "sign-in past the limit", r, http.StatusTooManyRequests)
		wantContains(t, "throttled sign-in", r.body, "Too many attempts.")
		if r.header.Get("Retry-After") == "" {
			t.Error("throttled sign-in without Retry-After")
		}
		for range ratelimit.PairBurst {
			c.login("nobody@example.com", "wrong password!!")
		}
		wantStatus(t, "unknown email past the limit", c.login("nobody@example.com", "wrong password!!"), http.StatusTooManyRequests)
		// One failure's worth of time later the owner may try again.
		e.clock.Advance(ratelimit.PairRefill)
		wantStatus(t, "sign-in after the refill", c.login("ada@example.com", testPassword), http.StatusSeeOther)
		c.submit("/dashboard/test/keys", "/dashboard/logout", nil)
		// A success clears the failures of this browser.
		for range ratelimit.PairBurst - 1 {
			c.login("ada@example.com", "wrong password!!")
		}
		wantStatus(t, "sign-in after a success", c.login("ada@example.com", testPassword), http.StatusSeeOther)
	})

	// The owner is not locked out by a guesser: not on a new browser
	// elsewhere while the guesser is spread over addresses, and never on a
	// browser that signed in before, however many guesses come from
	// wherever.
	t.Run("OwnerNotLockedOut", func(t *testing.T) {
		e := newEnvTrusting(t, mustPrefixes(t, "127.0.0.0/8"))
		owner := e.client()
		owner.header.Set("X-Forwarded-For", "198.51.100.20")
		owner.signup("ada@example.com")
		owner.submit("/dashboard/test/keys", "/dashboard/logout", nil)
		wantStatus(t, "the owner signs in", owner.login("ada@example.com", testPassword), http.StatusSeeOther)
		owner.submit("/dashboard/test/keys", "/dashboard/logout", nil)
		guess := func(n int) {
			for i := range n {
				attacker := e.client()
				attacker.header.Set("X-Forwarded-For", fmt.Sprintf("203.0.%d.%d", i/200, i%200))
				attacker.login("ada@example.com", "wrong password!!")
			}
		}
		guess(40)
		fresh := e.client()
		fresh.header.Set("X-Forwarded-For", "192.0.2.44")
		wantStatus(t, "the owner on a new browser after 40 spread-out guesses", fresh.login("ada@example.com", testPassword), http.StatusSeeOther)
		guess(200) // enough to drain the email's budget
		wantStatus(t, "the owner's known browser after 240 guesses", owner.login("ada@example.com", testPassword), http.StatusSeeOther)
		owner.submit("/dashboard/test/keys", "/dashboard/logout", nil)
		// The known browser's own mistakes still count.
		for range ratelimit.DeviceBurst {
			owner.login("ada@example.com", "wrong password!!")
		}
		wantStatus(t, "the known browser past its own budget", owner.login("ada@example.com", testPassword), http.StatusTooManyRequests)
	})

	t.Run("PerIP", func(t *testing.T) {
		e := newEnvTrusting(t, mustPrefixes(t, "127.0.0.0/8"))
		owner := e.client()
		owner.signup("ada@example.com")
		attacker := e.client()
		attacker.header.Set("X-Forwarded-For", "203.0.113.7")
		for i := range ratelimit.IPBurst {
			// A different email every time: only the IP's budget runs out.
			email := "user" + strings.Repeat("x", i) + "@example.com"
			wantStatus(t, "guess", attacker.login(email, "wrong password!!"), http.StatusUnauthorized)
		}
		wantStatus(t, "the IP past its limit", attacker.login("ada@example.com", testPassword), http.StatusTooManyRequests)
		// The real owner, from another address, is not affected.
		legit := e.client()
		legit.header.Set("X-Forwarded-For", "198.51.100.20")
		wantStatus(t, "another IP", legit.login("ada@example.com", testPassword), http.StatusSeeOther)
		// A forged X-Forwarded-For from an untrusted peer is ignored: with no
		// trusted proxies the peer address counts.
		e2 := newEnvTrusting(t, nil)
		spoof := e2.client()
		for i := range ratelimit.IPBurst {
			spoof.header.Set("X-Forwarded-For", "192.0.2."+string(rune('0'+i%10)))
			spoof.login("nobody@example.com"+strings.Repeat("y", i), "wrong password!!")
		}
		wantStatus(t, "spoofed forwarding", spoof.login("x@example.com", "wrong password!!"), http.StatusTooManyRequests)
	})
}

// CSRF: every post needs the token of the browser's own session and must
// come from the dashboard's own origin.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	a.signup("ada@example.com")
	b := e.client()
	b.signup("grace@example.com")
	acct := e.account("ada@example.com")
	form := func(token string) url.Values {
		v := url.Values{"name": {"ci"}, "mode": {"test"}, "scopes": {"context"}, "expires_in_days": {"0"}}
		if token != "" {
			v.Set("csrf_token", token)
		}
		return v
	}
	good := a.csrf("/dashboard/test/keys")
	cases := []struct {
		name    string
		token   string
		headers []string
	}{
		{"NoToken", "", nil},
		{"WrongToken", "AAAA" + good[4:], nil},
		{"OtherSessionsToken", b.csrf("/dashboard/test/keys"), nil},
		{"CrossSiteFetch", good, []string{"Sec-Fetch-Site", "cross-site"}},
		{"ForeignOrigin", good, []string{"Origin", "https://evil.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.post("/dashboard/test/keys", form(tc.token), tc.headers...)
			wantStatus(t, "forged post", r, http.StatusForbidden)
		})
	}
	keys, err := e.svc.Keys(context.Background(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("forged posts created %d keys", len(keys))
	}
	r := a.post("/dashboard/test/keys", form(good), "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
	wantStatus(t, "a same-origin post with the token", r, http.StatusSeeOther)

	// The sign-in form has a pre-session token too (against login CSRF).
	c := e.client()
	c.get("/dashboard/login") // a pre-session cookie of its own
	r = c.post("/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	wantStatus(t, "sign-in without a token", r, http.StatusForbidden)
	r = c.post("/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "csrf_token": {good}})
	wantStatus(t, "sign-in with another browser's token", r, http.StatusForbidden)
	// Sign-out is a post and needs the token too.
	r = a.post("/dashboard/logout", url.Values{})
	wantStatus(t, "sign-out without a token", r, http.StatusForbidden)
	wantStatus(t, "still signed in", a.get("/dashboard/test/keys"), http.StatusOK)
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	for _, path := range []string{"/dashboard/login", "/dashboard/test/keys", "/dashboard/nope"} {
		r := c.get(path)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: missing nosniff or frame denial", path)
		}
		if strings.Contains(r.body, "<script>") || regexp.MustCompile(`\sstyle="`).MatchString(r.body) {
			t.Errorf("%s: inline script or style, which the CSP would block", path)
		}
	}
	if r := c.get("/dashboard/test/keys"); r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("signed-in page Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
	}
	wantStatus(t, "unknown page", c.get("/dashboard/nope"), http.StatusNotFound)
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	other := e.client()
	other.login("ada@example.com", testPassword)
	wantStatus(t, "second session", other.get("/dashboard/test/keys"), http.StatusOK)

	r := c.submit("/dashboard/test/settings", "/dashboard/test/settings/password", url.Values{"current_password": {"not the password"}, "new_password": {"a brand new passphrase"}})
	wantStatus(t, "wrong current password", r, http.StatusBadRequest)
	wantContains(t, "wrong current password", r.body, "The current password is incorrect.")

	r = c.submit("/dashboard/test/settings", "/dashboard/test/settings/password", url.Values{"current_password": {testPassword}, "new_password": {"a brand new passphrase"}})
	wantStatus(t, "change password", r, http.StatusSeeOther)
	wantStatus(t, "this browser stays signed in", c.get("/dashboard/test/settings"), http.StatusOK)
	wantStatus(t, "the other session ends", other.get("/dashboard/test/keys"), http.StatusSeeOther)
	wantStatus(t, "old password", e.client().login("ada@example.com", testPassword), http.StatusUnauthorized)
	wantStatus(t, "new password", e.client().login("ada@example.com", "a brand new passphrase"), http.StatusSeeOther)

	// Sign out everywhere else.
	third := e.client()
	third.login("ada@example.com", "a brand new passphrase")
	wantStatus(t, "end other sessions", c.submit("/dashboard/test/settings", "/dashboard/test/settings/sessions", nil), http.StatusSeeOther)
	wantStatus(t, "a session ended from settings", third.get("/dashboard/test/keys"), http.StatusSeeOther)
	wantStatus(t, "the session that ended the others", c.get("/dashboard/test/keys"), http.StatusOK)
}

func TestStaticAssets(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	page := c.get("/dashboard/login").body
	m := regexp.MustCompile(`href="(/dashboard/static/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page links no versioned stylesheet")
	}
	r := c.get(m[1])
	wantStatus(t, "stylesheet", r, http.StatusOK)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: Content-Type %q, Cache-Control %q", r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
	if r := c.get("/dashboard/static/app.css?v=stale"); r.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("a stale version is cached: %q", r.header.Get("Cache-Control"))
	}
	wantStatus(t, "unknown asset", c.get("/dashboard/static/nope.js"), http.StatusNotFound)
}
