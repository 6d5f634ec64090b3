package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpapi"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
)

// fakeLearner is a function-field amp.Learner. Unset fields get a small
// deterministic behaviour whose output reveals its inputs (the sizes of the
// user and population states, the interaction count), so a test comparing
// two answers notices when one saw data the other did not. Fields are set
// before the server starts and never after, so no locking is needed.
type fakeLearner struct {
	DecideFn           func(in *amp.DecideInput) (*amp.Choice, error)
	LearnFn            func(in *amp.LearnInput) (*amp.Learned, error)
	ApplyPreferencesFn func(user, population []byte, prefs *amp.Preferences) ([]byte, error)
	SummarizeFn        func(user, population []byte) (*amp.ModelSummary, error)
}

func (l *fakeLearner) Decide(in *amp.DecideInput) (*amp.Choice, error) {
	if l.DecideFn != nil {
		return l.DecideFn(in)
	}
	n := len(in.User)
	return &amp.Choice{
		Recommendation: amp.Recommendation{
			Framing:       amp.Framings[n%len(amp.Framings)],
			Style:         amp.Styles[n%len(amp.Styles)],
			Handling:      amp.Handlings[n%len(amp.Handlings)],
			Encouragement: amp.Encouragements[n%len(amp.Encouragements)],
		},
		Propensity: 0.25,
		Explored:   in.Interactions < 5,
		Confidence: min(0.3+0.03*float64(in.Interactions), 0.95),
		Rationale:  fmt.Sprintf("user state %d bytes, population state %d bytes, %d outcomes", n, len(in.Population), in.Interactions),
	}, nil
}

func (l *fakeLearner) Learn(in *amp.LearnInput) (*amp.Learned, error) {
	if l.LearnFn != nil {
		return l.LearnFn(in)
	}
	reward := 0.0
	if in.Outcome.Started {
		reward = 1
	}
	return &amp.Learned{User: append(slices.Clone(in.User), 'o'), PopulationDelta: []byte{'p'}, Reward: reward}, nil
}

func (l *fakeLearner) MergePopulation(pop []byte, deltas [][]byte) ([]byte, error) {
	pop = slices.Clone(pop)
	for _, d := range deltas {
		pop = append(pop, d...)
	}
	return pop, nil
}

func (l *fakeLearner) ApplyPreferences(user, population []byte, prefs *amp.Preferences) ([]byte, error) {
	if l.ApplyPreferencesFn != nil {
		return l.ApplyPreferencesFn(user, population, prefs)
	}
	return append(slices.Clone(user), 'm'), nil
}

func (l *fakeLearner) Summarize(user, population []byte) (*amp.ModelSummary, error) {
	if l.SummarizeFn != nil {
		return l.SummarizeFn(user, population)
	}
	c := min(0.1*float64(len(user)), 1)
	return &amp.ModelSummary{
		Preferred: amp.Recommendation{
			Framing:       amp.Framings[len(user)%len(amp.Framings)],
			Style:         amp.StyleConversational,
			Handling:      amp.HandlingBreakIntoSteps,
			Encouragement: amp.EncouragementModerate,
		},
		Confidence: amp.DimensionValues{Framing: c, Style: c / 2, Handling: c / 3, Encouragement: c / 4},
	}, nil
}

// fakeLimiter is a function-field amp.Limiter; by default it admits every
// request with a fixed state.
type fakeLimiter struct {
	AdmitFn func(a *amp.Account, k *amp.APIKey, now time.Time) (amp.RateState, error)
}

var defaultRate = amp.RateState{Limit: 10, Remaining: 9, Reset: 1500 * time.Millisecond}

func (l *fakeLimiter) Admit(ctx context.Context, a *amp.Account, k *amp.APIKey, now time.Time) (amp.RateState, error) {
	if l.AdmitFn != nil {
		return l.AdmitFn(a, k, now)
	}
	return defaultRate, nil
}

func (l *fakeLimiter) Finish(ctx context.Context, a *amp.Account, k *amp.APIKey, status int, now time.Time) {
}

// eventMeter hands the request events the server reports to the test.
type eventMeter struct{ events chan amp.RequestEvent }

func (m *eventMeter) Record(ev amp.RequestEvent) {
	select {
	case m.events <- ev:
	default: // a test that does not read events must not block the server
	}
}

// next returns the next event, failing the test if none comes: the event
// is recorded after the response is written, so it may trail the client.
func (m *eventMeter) next(t testing.TB) amp.RequestEvent {
	t.Helper()
	select {
	case ev := <-m.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no request event recorded")
		return amp.RequestEvent{}
	}
}

// logBuffer collects the JSON log lines of the service and the server.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the decoded log records.
func (b *logBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// options adjust a fixture before its server starts.
type options struct {
	learner        amp.Learner
	limiter        amp.Limiter // nil: a fakeLimiter admitting everything
	noLimiter      bool
	authFailures   int
	trustedProxies []netip.Prefix
	noServer       bool // in-process only (fuzzing, benchmarks)
	discardLogs    bool
	metrics        *metrics.Metrics
	events         service.EventConfig
}

// fixture is a real Server over a real service and SQLite store, with a
// fake learner and limiter, a test clock, two accounts and keys of both
// modes.
type fixture struct {
	clock    *testclock.Clock
	db       *sqlite.DB
	svc      *service.Service
	server   *httpapi.Server
	srv      *httptest.Server // nil with noServer
	logs     *logBuffer
	meter    *eventMeter
	acct     *amp.Account // account A
	other    *amp.Account // account B
	liveKey  string       // A, live, all scopes
	testKey  string       // A, test, all scopes
	otherKey string       // B, live, all scopes
}

var start = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func newFixture(tb testing.TB, opts ...func(*options)) *fixture {
	tb.Helper()
	o := options{learner: &fakeLearner{}}
	for _, fn := range opts {
		fn(&o)
	}
	ctx := context.Background()
	f := &fixture{clock: testclock.New(start), logs: &logBuffer{}, meter: &eventMeter{events: make(chan amp.RequestEvent, 1024)}}
	var err error
	f.db, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "amp.db"), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.db.Close() })
	var logger *slog.Logger
	if o.discardLogs {
		logger = slog.New(slog.DiscardHandler)
	} else {
		logger = slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	limiter := o.limiter
	if limiter == nil && !o.noLimiter {
		limiter = &fakeLimiter{}
	}
	f.svc, err = service.New(service.Config{
		Store:                 f.db,
		Learner:               o.learner,
		Logger:                logger,
		Now:                   f.clock.Now,
		Seed:                  1,
		Limiter:               limiter,
		Meter:                 f.meter,
		AuthFailuresPerMinute: o.authFailures,
		Events:                o.events,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.server = httpapi.New(f.svc, httpapi.Config{Logger: logger, TrustedProxies: o.trustedProxies, Now: f.clock.Now, Metrics: o.metrics})
	if f.acct, err = f.svc.CreateAccount(ctx, "acme", amp.PlanStarter, 0); err != nil {
		tb.Fatal(err)
	}
	if f.other, err = f.svc.CreateAccount(ctx, "globex", amp.PlanPro, 0); err != nil {
		tb.Fatal(err)
	}
	f.liveKey = f.key(tb, f.acct.ID, amp.ModeLive, service.KeyOptions{})
	f.testKey = f.key(tb, f.acct.ID, amp.ModeTest, service.KeyOptions{})
	f.otherKey = f.key(tb, f.other.ID, amp.ModeLive, service.KeyOptions{})
	if !o.noServer {
		f.srv = httptest.NewServer(f.server)
		tb.Cleanup(f.srv.Close)
	}
	return f
}

func (f *fixture) key(tb testing.TB, accountID string, mode amp.Mode, opts service.KeyOptions) string {
	tb.Helper()
	k, err := f.svc.CreateKey(context.Background(), accountID, mode, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return k.Secret
}

// result is a response as the tests see it.
type result struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r *result) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorBody returns the envelope of an error response.
func (r *result) errorBody(t testing.TB) amp.ErrorDetail {
	t.Helper()
	var b amp.ErrorBody
	r.decode(t, &b)
	return b.Error
}

// request describes one call.
type request struct {
	method string
	path   string // escaped path, e.g. /v1/profile/a%2Fb
	key    string // sent as a Bearer token when not empty
	body   any    // string or []byte sent as is; anything else as JSON
	header http.Header
}

// do sends req to the test server and checks what every response must
// satisfy: an X-Request-Id, a JSON body, an error envelope whose requestId
// is the header's on errors, and conformance to the OpenAPI document.
func (f *fixture) do(t testing.TB, req request) *result {
	t.Helper()
	hr, err := http.NewRequest(req.method, f.srv.URL+req.path, bodyReader(t, req.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	if req.key != "" {
		hr.Header.Set("Authorization", "Bearer "+req.key)
	}
	resp, err := f.srv.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := &result{status: resp.StatusCode, header: resp.Header, body: b}
	checkResponse(t, req.method, req.path, res)
	return res
}

// serve runs req through the Server in-process, with checkResponse.
func (f *fixture) serve(t testing.TB, req request) *result {
	t.Helper()
	hr := httptest.NewRequest(req.method, req.path, bodyReader(t, req.body))
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	if req.key != "" {
		hr.Header.Set("Authorization", "Bearer "+req.key)
	}
	rec := httptest.NewRecorder()
	f.server.ServeHTTP(rec, hr)
	res := &result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	checkResponse(t, req.method, req.path, res)
	return res
}

func bodyReader(t testing.TB, body any) io.Reader {
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	case []byte:
		return bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(j)
	}
}

var requestIDPattern = regexp.MustCompile(`^req_[0-9A-Za-z]{24}$`)

// checkResponse checks what every response must satisfy.
func checkResponse(t testing.TB, method, path string, res *result) {
	t.Helper()
	id := res.header.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		t.Fatalf("%s %s: X-Request-Id = %q, want req_ and 24 base62 characters", method, path, id)
	}
	if method != http.MethodHead {
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type = %q, want application/json", method, path, ct)
		}
	}
	if res.status >= 400 {
		e := res.errorBody(t)
		if e.RequestID != id {
			t.Fatalf("%s %s: envelope requestId %q, header %q", method, path, e.RequestID, id)
		}
		if e.Code == "" || e.Message == "" || e.Timestamp.IsZero() {
			t.Fatalf("%s %s: incomplete envelope %s", method, path, res.body)
		}
		if got := httpapi.HTTPStatus(e.Code); got != res.status {
			t.Fatalf("%s %s: status %d with code %s, whose status is %d", method, path, res.status, e.Code, got)
		}
	}
	if method != http.MethodHead {
		if errs := apiDoc(t).checkResponse(method, path, res); len(errs) > 0 {
			t.Fatalf("%s %s → %d does not conform to openapi.json:\n  %s\nbody: %s", method, path, res.status, strings.Join(errs, "\n  "), res.body)
		}
	}
}

// wantError checks a response's status and error code.
func wantError(t testing.TB, res *result, status int, code string) amp.ErrorDetail {
	t.Helper()
	if res.status != status {
		t.Fatalf("got status %d (%s), want %d %s", res.status, res.body, status, code)
	}
	e := res.errorBody(t)
	if e.Code != code {
		t.Fatalf("got code %s (%s), want %s", e.Code, e.Message, code)
	}
	return e
}

// wantOK checks that a response is a 200 and decodes it into v.
func wantOK(t testing.TB, res *result, v any) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("got status %d: %s", res.status, res.body)
	}
	if v != nil {
		res.decode(t, v)
	}
}

// getContext asks for a context and returns it.
func (f *fixture) getContext(t testing.TB, key, userID string) amp.Context {
	t.Helper()
	var c amp.Context
	wantOK(t, f.do(t, request{method: "POST", path: "/v1/context", key: key,
		body: map[string]any{"userId": userID, "task": "write the report", "taskType": "writing"}}), &c)
	return c
}

// reportOutcome reports a started, completed outcome.
func (f *fixture) reportOutcome(t testing.TB, key, requestID string) {
	t.Helper()
	wantOK(t, f.do(t, request{method: "POST", path: "/v1/outcome", key: key,
		body: map[string]any{"requestId": requestID, "started": true, "completed": true, "timeToStart": 12.5}}), nil)
}
