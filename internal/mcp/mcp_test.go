package mcp_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/mcp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// limiter admits requests until refuse is set, and records what finished.
type limiter struct {
	mu       sync.Mutex
	refuse   bool
	admitted int
	finished []int
}

func (l *limiter) Admit(ctx context.Context, a *amp.Account, k *amp.APIKey, now time.Time) (amp.RateState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refuse {
		return amp.RateState{}, amp.Errorf(amp.CodeRateLimitExceeded, "Rate limit exceeded.").WithDetails(map[string]any{"retryAfter": 3})
	}
	l.admitted++
	return amp.RateState{Limit: 10, Remaining: 9}, nil
}

func (l *limiter) Finish(ctx context.Context, a *amp.Account, k *amp.APIKey, status int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.finished = append(l.finished, status)
}

type meter struct {
	mu     sync.Mutex
	events []amp.RequestEvent
}

func (m *meter) Record(ev amp.RequestEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, ev)
}

type fixture struct {
	svc     *service.Service
	h       *mcp.Handler
	srv     *httptest.Server
	limiter *limiter
	meter   *meter
	acct    *amp.Account
}

func newFixture(t *testing.T) *fixture { return newFixtureB(t) }

func newFixtureB(t testing.TB) *fixture { return newFixtureWith(t, mcp.NewHandler) }

// newFixtureWith is a fixture whose /mcp is served by newHandler.
func newFixtureWith(t testing.TB, newHandler func(*service.Service, mcp.HandlerConfig) *mcp.Handler) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{limiter: &limiter{}, meter: &meter{}}
	f.svc, err = service.New(service.Config{Store: db, Learner: learn.New(learn.DefaultConfig()), Seed: 1, Limiter: f.limiter, Meter: f.meter})
	if err != nil {
		t.Fatal(err)
	}
	if f.acct, err = f.svc.CreateAccount(ctx, "acme", amp.PlanPro, 0); err != nil {
		t.Fatal(err)
	}
	f.h = newHandler(f.svc, mcp.HandlerConfig{Version: "test"})
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) key(t *testing.T, mode amp.Mode, scopes ...amp.Scope) string {
	return f.keyB(t, mode, scopes...)
}

func (f *fixture) keyB(t testing.TB, mode amp.Mode, scopes ...amp.Scope) string {
	t.Helper()
	k, err := f.svc.CreateKey(context.Background(), f.acct.ID, mode, service.KeyOptions{Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

func (f *fixture) connect(t *testing.T, key string) *gomcp.ClientSession {
	t.Helper()
	c := gomcp.NewClient(&gomcp.Implementation{Name: "t", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &gomcp.StreamableClientTransport{
		Endpoint: f.srv.URL, HTTPClient: &http.Client{Transport: bearer{key}}, MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t *testing.T, cs *gomcp.ClientSession, name string, args map[string]any) *gomcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &gomcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func errorText(res *gomcp.CallToolResult) string {
	if !res.IsError || len(res.Content) == 0 {
		return ""
	}
	return res.Content[0].(*gomcp.TextContent).Text
}

// TestToolCallsAreAPIRequests checks that each tool call, and nothing else,
// is admitted, authorised and metered like one /v1 request, under its MCP
// route, with the status the /v1 route would have answered.
func TestToolCallsAreAPIRequests(t *testing.T) {
	f := newFixture(t)
	cs := f.connect(t, f.key(t, amp.ModeLive, amp.ScopeContext, amp.ScopeOutcome))
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	res := call(t, cs, mcp.ToolGetContext, map[string]any{"userId": "u1", "task": "plan the sprint"})
	if res.IsError {
		t.Fatal(errorText(res))
	}
	var c amp.Context
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &c); err != nil || !strings.HasPrefix(c.RequestID, "req_") {
		t.Fatalf("structured content %s: %v", b, err)
	}
	forbidden := call(t, cs, mcp.ToolGetProfile, map[string]any{"userId": "u1"})
	if got := errorText(forbidden); !strings.HasPrefix(got, amp.CodeForbidden+": ") || !strings.Contains(got, "profiles:read") {
		t.Fatalf("get_profile without profiles:read: %q", got)
	}
	f.limiter.mu.Lock()
	f.limiter.refuse = true
	f.limiter.mu.Unlock()
	limited := errorText(call(t, cs, mcp.ToolReportOutcome, map[string]any{"requestId": c.RequestID, "started": true}))
	if !strings.HasPrefix(limited, amp.CodeRateLimitExceeded+": ") || !strings.Contains(limited, `"retryAfter":3`) {
		t.Fatalf("a refused call: %q", limited)
	}

	f.limiter.mu.Lock()
	admitted, finished := f.limiter.admitted, f.limiter.finished
	f.limiter.mu.Unlock()
	// initialize, tools/list and the refused call are not admitted.
	if admitted != 2 || len(finished) != 2 || finished[0] != 200 || finished[1] != 403 {
		t.Fatalf("admitted %d, finished %v; want 2 admitted, finished [200 403]", admitted, finished)
	}
	f.meter.mu.Lock()
	events := f.meter.events
	f.meter.mu.Unlock()
	// The refused call is metered too, as refused by the rate limit.
	if len(events) != 3 || events[0].Route != mcp.RouteGetContext || events[1].Route != mcp.RouteGetProfile ||
		events[0].Mode != amp.ModeLive || events[1].Status != 403 || events[0].Admission != amp.AdmissionAdmitted ||
		events[2].Route != mcp.RouteReportOutcome || events[2].Status != 429 || events[2].Admission != amp.AdmissionRateLimited {
		t.Fatalf("metered %+v", events)
	}
}

// TestRevokedKeyMetered: a POST with a revoked key is refused and metered
// against the key as a failed-key request, as on /v1; an unknown key has no
// account to count against.
func TestRevokedKeyMetered(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeLive, service.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RevokeKey(ctx, f.acct.ID, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{k.Secret, "amp_sk_live_000000000000000000000000000000"} {
		req, _ := http.NewRequest("POST", f.srv.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("HTTP %d, want 401", resp.StatusCode)
		}
	}
	f.meter.mu.Lock()
	events := f.meter.events
	f.meter.mu.Unlock()
	if len(events) != 1 || events[0].KeyID != k.Key.ID || events[0].Route != mcp.RouteMCP || events[0].Status != 401 ||
		events[0].Admission != amp.AdmissionAuthFailed {
		t.Fatalf("metered %+v, want the revoked key's refusal only", events)
	}
}

// TestUnauthenticated checks the HTTP answers to a missing, malformed or
// unknown key: 401 with a Bearer challenge and the API's error envelope.
func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	for _, auth := range []string{"", "Basic dXNlcjpwYXNz", "Bearer amp_sk_live_000000000000000000000000000000"} {
		req, _ := http.NewRequest("POST", f.srv.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body amp.ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		challenge := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != 401 || err != nil || body.Error.Code != amp.CodeUnauthorized || !strings.HasPrefix(body.Error.RequestID, "req_") ||
			!strings.HasPrefix(challenge, `Bearer realm="amp"`) || (auth != "") != strings.Contains(challenge, "invalid_token") {
			t.Errorf("Authorization %q: HTTP %d, challenge %q, body %+v (%v)", auth, resp.StatusCode, challenge, body, err)
		}
	}
}

// TestSchemasMatchAnswers checks the output schemas against real answers:
// the SDK validates structured content against them, so a mismatch would
// turn every call into an error.
func TestSchemasMatchAnswers(t *testing.T) {
	f := newFixture(t)
	cs := f.connect(t, f.key(t, amp.ModeTest))
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]*jsonschema.Resolved{}
	for _, tool := range tools.Tools {
		b, _ := json.Marshal(tool.OutputSchema)
		var s jsonschema.Schema
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		r, err := s.Resolve(nil)
		if err != nil {
			t.Fatalf("%s: output schema: %v", tool.Name, err)
		}
		schemas[tool.Name] = r
	}
	var lastID string
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{mcp.ToolGetContext, map[string]any{"userId": "s", "task": "t", "metadata": map[string]any{"source": "test"}}},
		{mcp.ToolReportOutcome, nil}, // filled in below with the context's requestId
		{mcp.ToolUpdateProfile, map[string]any{"userId": "s", "communicationStyle": "technical", "metadata": map[string]any{"team": "a"}}},
		{mcp.ToolGetProfile, map[string]any{"userId": "s"}},
		{mcp.ToolDeleteProfile, map[string]any{"userId": "s"}},
	} {
		if c.tool == mcp.ToolReportOutcome {
			c.args = map[string]any{"requestId": lastID, "started": true, "satisfaction": 0.5}
		}
		res := call(t, cs, c.tool, c.args)
		if res.IsError || res.StructuredContent == nil {
			t.Fatalf("%s: %s", c.tool, errorText(res))
		}
		b, _ := json.Marshal(res.StructuredContent)
		var instance map[string]any
		if err := json.Unmarshal(b, &instance); err != nil {
			t.Fatal(err)
		}
		if err := schemas[c.tool].Validate(instance); err != nil {
			t.Errorf("%s: the answer %s does not match the output schema: %v", c.tool, b, err)
		}
		if id, ok := instance["requestId"].(string); ok {
			lastID = id
		}
	}
	bad := errorText(call(t, cs, mcp.ToolUpdateProfile, map[string]any{"userId": "s", "preferredFraming": "shouting"}))
	if !strings.Contains(bad, "preferredFraming") {
		t.Errorf("an unknown framing: %q", bad)
	}
}

// panicky is a learner whose decisions panic, as a bug would.
type panicky struct{ amp.Learner }

func (panicky) Decide(*amp.DecideInput) (*amp.Choice, error) { panic("a bug") }

// TestPanicIsAnInternalError checks that a panic under a tool call is an
// INTERNAL_ERROR tool error, metered as a 500, and not the end of the
// process: the SDK runs handlers on goroutines without recovery.
func TestPanicIsAnInternalError(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := &meter{}
	svc, err := service.New(service.Config{Store: db, Learner: panicky{learn.New(learn.DefaultConfig())}, Seed: 1, Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := svc.CreateAccount(ctx, "acme", amp.PlanPro, 0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKey(ctx, acct.ID, amp.ModeTest, service.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mcp.NewHandler(svc, mcp.HandlerConfig{}))
	defer srv.Close()
	f := &fixture{srv: srv}
	got := errorText(call(t, f.connect(t, k.Secret), mcp.ToolGetContext, map[string]any{"userId": "u", "task": "t"}))
	if !strings.HasPrefix(got, amp.CodeInternal+": ") || strings.Contains(got, "a bug") {
		t.Fatalf("a panicking tool: %q", got)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) != 1 || m.events[0].Status != 500 {
		t.Fatalf("metered %+v, want one 500", m.events)
	}
}
