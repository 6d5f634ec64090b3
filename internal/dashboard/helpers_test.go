package dashboard_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/dashboard"
	"github.com/amp-protocol/amp/internal/httpapi"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/meter"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/password"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
)

// testParams make argon2id cheap in tests; the defaults are exercised by
// internal/password's own test.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery staple"

// env is the dashboard and the API on one real SQLite store, with the
// meter and the limiter, served by httptest as `amp serve` serves them.
type env struct {
	t       *testing.T
	db      *sqlite.DB
	svc     *service.Service
	meter   *meter.Meter
	limiter *ratelimit.Limiter
	clock   *testclock.Clock
	srv     *httptest.Server
	cfg     envConfig
	logs    *lockedBuffer
}

// envConfig is what a test may change of an env: the service's settings
// (sign-up, sessions, usage) and the dashboard's (cookies, lift).
type envConfig struct {
	svc  service.Config
	dash dashboard.Config
}

// withService and withDashboard adjust an env's configuration.
func withService(fn func(*service.Config)) func(*envConfig) {
	return func(c *envConfig) { fn(&c.svc) }
}

func withDashboard(fn func(*dashboard.Config)) func(*envConfig) {
	return func(c *envConfig) { fn(&c.dash) }
}

// testCountries maps the documentation addresses tests send from (through
// X-Forwarded-For from a trusted loopback proxy) to countries.
func testCountry(ip string) string {
	switch {
	case strings.HasPrefix(ip, "203.0.113."):
		return "FR"
	case strings.HasPrefix(ip, "198.51.100."):
		return "BR"
	}
	return amp.UnknownCountry
}

// loopback is the trusted proxy of the tests, which send from documentation
// addresses through X-Forwarded-For.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func newEnv(t *testing.T, configure ...func(*envConfig)) *env {
	t.Helper()
	return newEnvTrusting(t, loopback, configure...)
}

// newEnvTrusting is newEnv whose chain believes X-Forwarded-For only from
// the trusted networks.
func newEnvTrusting(t *testing.T, trusted []netip.Prefix, configure ...func(*envConfig)) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amp.db"), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	clock := testclock.New(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	// The log is shown when the test fails.
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	m, err := meter.New(meter.Config{Store: db, Now: clock.Now, Country: testCountry, Logger: log})
	if err != nil {
		t.Fatalf("meter: %v", err)
	}
	m.Start()
	lim := ratelimit.New(ratelimit.Config{Store: db, Now: clock.Now})
	cfg := envConfig{
		svc: service.Config{Store: db, Learner: learn.New(learn.DefaultConfig()), Now: clock.Now, Seed: 1, Meter: m, Limiter: lim, Logger: log,
			Users: db, AllowSignup: true, Passwords: testParams, Usage: db, Quota: lim, Requests: db, Country: testCountry},
		dash: dashboard.Config{Logger: log},
	}
	for _, c := range configure {
		c(&cfg)
	}
	svc, err := service.New(cfg.svc)
	if err != nil {
		t.Fatalf("service: %v", err)
	}
	h, err := dashboard.Build(svc, cfg.dash)
	if err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	// One chain for the API, the dashboard and /metrics, as `amp serve`
	// wires them.
	reg := metrics.New()
	api := httpapi.New(svc, httpapi.Config{Now: clock.Now, TrustedProxies: trusted, Logger: log, Metrics: reg})
	api.Mount(dashboard.Prefix, h)
	api.Handle(http.MethodGet, "/metrics", reg.Handler(), true)
	srv := httptest.NewServer(api)
	// The service's jobs: keys' last-used times, as `amp serve` runs them.
	svc.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := svc.Close(); err != nil {
			t.Errorf("close service: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("close meter: %v", err)
		}
		if err := lim.Close(); err != nil {
			t.Errorf("close limiter: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &env{t: t, db: db, svc: svc, meter: m, limiter: lim, clock: clock, srv: srv, cfg: cfg, logs: logs}
}

// api calls the API with a key, from ip (through the trusted loopback
// proxy), and returns the status and body.
func (e *env) api(method, path, key, ip, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// flush writes the meter's counts, as its ticker would.
func (e *env) flush() {
	e.t.Helper()
	if err := e.meter.Flush(context.Background()); err != nil {
		e.t.Fatalf("flush meter: %v", err)
	}
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// client is one browser: a cookie jar and no automatic redirects, so that
// tests see every response.
type client struct {
	t    *testing.T
	e    *env
	jar  *cookiejar.Jar
	http *http.Client
	// header is added to every request (e.g. X-Forwarded-For).
	header http.Header
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{t: e.t, e: e, jar: jar, header: http.Header{},
		http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is a finished response with its body read.
type response struct {
	status int
	header http.Header
	body   string
}

func (r *response) location() string { return r.header.Get("Location") }

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	for k, v := range c.header {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) get(path string) *response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form as it is; extra headers may be given as pairs.
func (c *client) post(path string, form url.Values, headers ...string) *response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of the forms of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := csrfField.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("GET %s (%d): no csrf_token field", path, r.status)
	}
	return html.UnescapeString(m[1])
}

// submit posts form to path with the CSRF token of the page at from.
func (c *client) submit(from, path string, form url.Values) *response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", c.csrf(from))
	return c.post(path, form)
}

// signup creates an account through the sign-up form and leaves the client
// signed in.
func (c *client) signup(email string) {
	c.t.Helper()
	r := c.submit("/dashboard/signup", "/dashboard/signup", url.Values{"email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("sign-up of %s: status %d, want 303; body:\n%s", email, r.status, r.body)
	}
}

func (c *client) login(email, password string) *response {
	c.t.Helper()
	return c.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {email}, "password": {password}})
}

// loginFromNewTab signs in from a browser that is already signed in (whose
// sign-in page would redirect): it takes a sign-in form from a fresh tab,
// with that tab's pre-session cookie, and posts it with this browser's
// cookies.
func (c *client) loginFromNewTab(email, password string) *response {
	c.t.Helper()
	tab := c.e.client()
	token := tab.csrf("/dashboard/login")
	c.jar.SetCookies(mustURL(c.t, c.e.srv.URL+"/"), []*http.Cookie{{Name: "amp_csrf", Value: tab.cookie("amp_csrf"), Path: "/"}})
	return c.post("/dashboard/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {token}})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustPrefixes(t *testing.T, ps ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// cookie returns the value of the client's cookie name, or "".
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.e.srv.URL + "/dashboard/")
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// account returns the account of the user with the email.
func (e *env) account(email string) *amp.Account {
	e.t.Helper()
	u, err := e.db.DashboardUserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatalf("user %s: %v", email, err)
	}
	a, err := e.svc.Account(context.Background(), u.AccountID)
	if err != nil {
		e.t.Fatalf("account of %s: %v", email, err)
	}
	return a
}

// principal is an API principal of the account in mode, for writing
// learning data through the service as the API would.
func principal(a *amp.Account, m amp.Mode) *service.Principal {
	return &service.Principal{Key: &amp.APIKey{AccountID: a.ID, Mode: m, Scopes: amp.AllScopes}, Account: a}
}

func wantStatus(t *testing.T, what string, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, r.status, want, r.body)
	}
}

func wantContains(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s: the page lacks %q", what, s)
		}
	}
}

func wantLacks(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("%s: the page shows %q", what, s)
		}
	}
}
