package main

import (
	"cmp"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// keyRuleCase is one key the front ends must refuse. Fields left empty
// take a valid value. A front end that cannot express the input (the
// dashboard offers expiries from a list, and takes the mode from the
// page) is skipped for that case.
type keyRuleCase struct {
	name        string
	keyName     string
	mode        amp.Mode
	scopes      string
	rate        int
	expiresIn   string // CLI form; "" for never
	noDashboard bool
	want        string // the message, in full
	// dashboardWant, when set, is the dashboard's message instead: its
	// forms are held to the text rule whole, before any page handler runs
	// (docs/security.md), and no browser sends invalid UTF-8 anyway.
	dashboardWant string
}

var keyRuleCases = []keyRuleCase{
	{name: "ControlCharacterAndHugeRate", keyName: "bad\x07name", rate: 5_000_000,
		want: "A key name must be at most 100 bytes of text, without control characters."},
	{name: "ControlCharacter", keyName: "tab\tname",
		want: "A key name must be at most 100 bytes of text, without control characters."},
	{name: "InvalidUTF8", keyName: "bad\xffname",
		want:          "A key name must be at most 100 bytes of text, without control characters.",
		dashboardWant: "The form holds text that is not valid UTF-8 or contains NUL characters."},
	{name: "LongName", keyName: strings.Repeat("n", 101),
		want: "A key name must be at most 100 bytes of text, without control characters."},
	{name: "RateAbovePlan", rate: 5_000_000,
		want: "A key's rate limit must be a whole number of requests per second from 1 to the plan's 10, or none for the plan's rate."},
	{name: "RateJustAbovePlan", rate: 11,
		want: "A key's rate limit must be a whole number of requests per second from 1 to the plan's 10, or none for the plan's rate."},
	{name: "NegativeRate", rate: -3,
		want: "A key's rate limit must be a whole number of requests per second from 1 to the plan's 10, or none for the plan's rate."},
	{name: "UnknownScope", scopes: "admin",
		want: `Unknown scope "admin"; scopes are context, outcome, profiles:read, profiles:write.`},
	{name: "ExpiryTooFar", expiresIn: "4000d", noDashboard: true,
		want: "A key's expiry must be in the future and at most 10 years away."},
	{name: "ExpiryNow", expiresIn: "0s", noDashboard: true,
		want: "A key's expiry must be in the future and at most 10 years away."},
	{name: "BadMode", mode: "prod", noDashboard: true,
		want: "mode must be test or live."},
}

func (c keyRuleCase) withDefaults() keyRuleCase {
	if c.keyName == "" {
		c.keyName = "ci"
	}
	if c.mode == "" {
		c.mode = amp.ModeTest
	}
	if c.scopes == "" {
		c.scopes = "context"
	}
	return c
}

// TestKeyRulesAcrossFrontEnds proves that the CLI, the service (which the
// API's handlers call) and the dashboard refuse the same keys with the
// same messages: each rule is written once, in the root, and applied by the
// service for all of them.
func TestKeyRulesAcrossFrontEnds(t *testing.T) {
	dir := t.TempDir()
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "acme"))

	// The CLI.
	cli := make(map[string]string)
	for _, c := range keyRuleCases {
		c = c.withDefaults()
		args := []string{"keys", "create", "--data", dir, "--account", acct, "--mode", string(c.mode),
			"--name", c.keyName, "--scopes", c.scopes, "--rate-limit", strconv.Itoa(c.rate)}
		if c.expiresIn != "" {
			args = append(args, "--expires-in", c.expiresIn)
		}
		out, _, err := ampCmd(t, nil, nil, "", args...)
		if err == nil {
			t.Errorf("%s: amp keys create accepted it and printed %q", c.name, out)
			continue
		}
		cli[c.name] = amp.ErrorMessage(err)
		if !strings.Contains(err.Error(), cli[c.name]) {
			t.Errorf("%s: the CLI prints %q, without the message %q", c.name, err, cli[c.name])
		}
	}

	// The service, as the API's handlers and the CLI call it.
	svcMsgs := make(map[string]string)
	func() {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "amp.db"), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		svc, err := service.New(service.Config{Store: db, Learner: newLearner()})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range keyRuleCases {
			c = c.withDefaults()
			opts := service.KeyOptions{Name: c.keyName, RateLimit: c.rate}
			for s := range strings.SplitSeq(c.scopes, ",") {
				opts.Scopes = append(opts.Scopes, amp.Scope(s))
			}
			if c.expiresIn != "" {
				d, err := parseDuration(c.expiresIn)
				if err != nil {
					t.Fatal(err)
				}
				opts.ExpiresIn = cmpDuration(d)
			}
			_, err := svc.CreateKey(context.Background(), acct, c.mode, opts)
			if amp.ErrorCode(err) != amp.CodeInvalidRequest {
				t.Errorf("%s: service.CreateKey = %v, want INVALID_REQUEST", c.name, err)
				continue
			}
			svcMsgs[c.name] = amp.ErrorMessage(err)
		}
	}()

	// The dashboard, over HTTP, on a starter account of its own (the same
	// plan rate as acme's).
	srv := startServe(t, nil, dir, "--signup", "open")
	b := newBrowser(t, srv.URL)
	b.signup("ada@example.com")
	dash := make(map[string]string)
	for _, c := range keyRuleCases {
		if c.noDashboard {
			continue
		}
		c = c.withDefaults()
		form := url.Values{"name": {c.keyName}, "expires_in_days": {"0"}, "scopes": strings.Split(c.scopes, ",")}
		if c.rate != 0 {
			form.Set("rate_limit", strconv.Itoa(c.rate))
		}
		page := "/dashboard/" + string(c.mode) + "/keys"
		status, body := b.submit(page, page, form)
		m := formErrorRE.FindStringSubmatch(body)
		if status != http.StatusBadRequest || m == nil {
			t.Errorf("%s: the dashboard answered %d without a form error", c.name, status)
			continue
		}
		dash[c.name] = html.UnescapeString(m[1])
	}

	for _, c := range keyRuleCases {
		if cli[c.name] != c.want {
			t.Errorf("%s: CLI says %q, want %q", c.name, cli[c.name], c.want)
		}
		if svcMsgs[c.name] != c.want {
			t.Errorf("%s: service says %q, want %q", c.name, svcMsgs[c.name], c.want)
		}
		if want := cmp.Or(c.dashboardWant, c.want); !c.noDashboard && dash[c.name] != want {
			t.Errorf("%s: dashboard says %q, want %q", c.name, dash[c.name], want)
		}
	}
}

// cmpDuration maps a requested lifetime of 0 to "no lifetime", as the CLI
// does.
func cmpDuration(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

var (
	formErrorRE = regexp.MustCompile(`id="form-error">([^<]*)<`)
	csrfRE      = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
)

// browser is a minimal dashboard client: a cookie jar, no redirects
// followed.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// submit posts form to path with the CSRF token of the page at from.
func (b *browser) submit(from, path string, form url.Values) (int, string) {
	b.t.Helper()
	_, page := b.do(http.MethodGet, from, nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("GET %s: no csrf token", from)
	}
	form.Set("csrf_token", html.UnescapeString(m[1]))
	return b.do(http.MethodPost, path, form)
}

func (b *browser) signup(email string) {
	b.t.Helper()
	if st, body := b.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {email}, "password": {"correct horse battery staple"}}); st != http.StatusSeeOther {
		b.t.Fatalf("sign-up: %d\n%s", st, body)
	}
}

// TestAccountAndUserRulesAcrossFrontEnds does for account names, holdouts,
// emails and passwords what TestKeyRulesAcrossFrontEnds does for keys:
// `amp accounts`, `amp users add` and the dashboard's settings and sign-up
// forms refuse the same input with the same message.
func TestAccountAndUserRulesAcrossFrontEnds(t *testing.T) {
	dir := t.TempDir()
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "acme"))
	const (
		nameMsg     = "An account name is required: at most 100 bytes of text, without control characters."
		holdoutMsg  = "The holdout must be a whole percentage between 0 and 100."
		emailMsg    = "Enter a valid email address."
		passwordMsg = "Choose a password of at least 12 characters."
	)
	cliMsg := func(stdin string, args ...string) string {
		t.Helper()
		_, _, err := ampCmd(t, nil, nil, stdin, args...)
		if err == nil {
			t.Errorf("amp %s accepted it", strings.Join(args, " "))
			return ""
		}
		return amp.ErrorMessage(err)
	}
	cli := map[string]string{
		"AccountName": cliMsg("", "accounts", "create", "--data", dir, "--name", "bad\x07name"),
		"Holdout":     cliMsg("", "accounts", "set-holdout", "--data", dir, "--account", acct, "--percent", "101"),
		"Email":       cliMsg("a long enough password\n", "users", "add", "--data", dir, "--email", "ada@localhost"),
		"Password":    cliMsg("short\n", "users", "add", "--data", dir, "--email", "ada@example.com"),
		"UserAccount": cliMsg("a long enough password\n", "users", "add", "--data", dir, "--email", "ada@example.com", "--account-name", "bad\x07name"),
	}

	srv := startServe(t, nil, dir, "--signup", "open")
	b := newBrowser(t, srv.URL)
	formError := func(what string, status int, body string) string {
		t.Helper()
		m := formErrorRE.FindStringSubmatch(body)
		if status != http.StatusBadRequest || m == nil {
			t.Errorf("%s: the dashboard answered %d without a form error", what, status)
			return ""
		}
		return html.UnescapeString(m[1])
	}
	dash := make(map[string]string)
	st, body := b.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {"ada@localhost"}, "password": {"a long enough password"}})
	dash["Email"] = formError("sign-up with a bad email", st, body)
	st, body = b.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {"ada@example.com"}, "password": {"short"}})
	dash["Password"] = formError("sign-up with a short password", st, body)
	st, body = b.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {"ada@example.com"}, "password": {"a long enough password"}, "account_name": {"bad\x07name"}})
	dash["UserAccount"] = formError("sign-up with a bad account name", st, body)
	b.signup("ada@example.com")
	st, body = b.submit("/dashboard/test/settings", "/dashboard/test/settings/account", url.Values{"name": {"bad\x07name"}, "holdout_percent": {"10"}})
	dash["AccountName"] = formError("settings with a bad name", st, body)
	st, body = b.submit("/dashboard/test/settings", "/dashboard/test/settings/account", url.Values{"name": {"Engines"}, "holdout_percent": {"101"}})
	dash["Holdout"] = formError("settings with a bad holdout", st, body)

	for name, want := range map[string]string{
		"AccountName": nameMsg, "Holdout": holdoutMsg, "Email": emailMsg, "Password": passwordMsg, "UserAccount": nameMsg,
	} {
		if cli[name] != want || dash[name] != want {
			t.Errorf("%s: CLI says %q, dashboard %q; want %q", name, cli[name], dash[name], want)
		}
	}
}
