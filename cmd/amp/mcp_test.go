package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/mcp"
)

// bearerTransport adds an API key to every request of the SDK's client.
type bearerTransport struct{ key string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// connectHTTP connects the Go SDK's own client to baseURL/mcp with key.
func connectHTTP(t *testing.T, baseURL, key string) *gomcp.ClientSession {
	t.Helper()
	c := gomcp.NewClient(&gomcp.Implementation{Name: "amp-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &gomcp.StreamableClientTransport{
		Endpoint:   baseURL + "/mcp",
		HTTPClient: &http.Client{Transport: bearerTransport{key}, Timeout: time.Minute},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("connect to %s/mcp: %v", baseURL, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// connectStdio starts `amp mcp` as a child process, as a desktop host does,
// and connects the SDK's client to it over stdio.
func connectStdio(t *testing.T, baseURL, key string) *gomcp.ClientSession {
	t.Helper()
	cmd := exec.Command(ampBinary(t), "mcp")
	cmd.Env = append(append([]string{}, binEnv...), "AMP_API_KEY="+key, "AMP_BASE_URL="+baseURL+"/v1")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	c := gomcp.NewClient(&gomcp.Implementation{Name: "amp-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &gomcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("start amp mcp: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := cs.Close(); err != nil {
			t.Errorf("amp mcp did not stop cleanly: %v\n%s", err, stderr.String())
		}
	})
	return cs
}

// callTool calls a tool and decodes its structured content into out. It
// fails the test on a protocol error; a tool error is returned as its text.
func callTool(t *testing.T, cs *gomcp.ClientSession, name string, args any, out any) (toolErr string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &gomcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		if len(res.Content) == 0 {
			t.Fatalf("%s: a tool error without text", name)
		}
		return res.Content[0].(*gomcp.TextContent).Text
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, b, err)
	}
	return ""
}

func wantToolError(t *testing.T, text, code string) {
	t.Helper()
	if !strings.HasPrefix(text, code+": ") || !strings.Contains(text, "What to do: ") {
		t.Fatalf("got tool error %q, want one naming %s and what to do", text, code)
	}
}

// exerciseTools lists the tools of one session and calls each, with user
// as the user. A context is taken through a, its outcome reported through
// b (the same session, or one on another instance), and the rest is
// checked through a.
func exerciseTools(t *testing.T, a, b *gomcp.ClientSession, user string) {
	t.Helper()
	ctx := context.Background()
	tools, err := a.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.OutputSchema == nil || tool.InputSchema == nil || tool.Annotations == nil || tool.Description == "" {
			t.Errorf("tool %s lacks a schema, annotations or a description", tool.Name)
		}
		if d := tool.Annotations.DestructiveHint; (d != nil && *d) != (tool.Name == mcp.ToolDeleteProfile) {
			t.Errorf("tool %s: destructiveHint %v", tool.Name, d)
		}
		if tool.Annotations.ReadOnlyHint != (tool.Name == mcp.ToolGetProfile) {
			t.Errorf("tool %s: readOnlyHint %v", tool.Name, tool.Annotations.ReadOnlyHint)
		}
	}
	slices.Sort(names)
	want := []string{mcp.ToolDeleteProfile, mcp.ToolGetContext, mcp.ToolGetProfile, mcp.ToolReportOutcome, mcp.ToolUpdateProfile}
	if !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	var mc amp.Context
	if e := callTool(t, a, mcp.ToolGetContext, map[string]any{"userId": user, "task": "write the release notes", "complexity": "medium", "taskType": "writing"}, &mc); e != "" {
		t.Fatalf("get_context: %s", e)
	}
	if !strings.HasPrefix(mc.RequestID, "req_") || !mc.Framing.Valid() || mc.Metadata.ProfilePhase != amp.PhaseColdStart {
		t.Fatalf("get_context answered %+v", mc)
	}
	var ok amp.OutcomeResponse
	outcome := map[string]any{"requestId": mc.RequestID, "started": true, "completed": true, "timeToStart": 12.5, "satisfaction": 0.8}
	if e := callTool(t, b, mcp.ToolReportOutcome, outcome, &ok); e != "" || !ok.Success {
		t.Fatalf("report_outcome: %s %+v", e, ok)
	}
	wantToolError(t, callTool(t, a, mcp.ToolReportOutcome, outcome, &ok), amp.CodeOutcomeAlreadyReported)
	wantToolError(t, callTool(t, a, mcp.ToolReportOutcome, map[string]any{"requestId": "req_unknown", "started": false}, &ok), amp.CodeInvalidRequestID)

	var p amp.Profile
	if e := callTool(t, b, mcp.ToolGetProfile, map[string]any{"userId": user}, &p); e != "" {
		t.Fatalf("get_profile: %s", e)
	}
	if p.TotalInteractions != 1 || p.UserID != user {
		t.Fatalf("after one outcome the profile has totalInteractions %d (user %q), want 1", p.TotalInteractions, p.UserID)
	}
	if e := callTool(t, a, mcp.ToolUpdateProfile, map[string]any{"userId": user, "preferredFraming": "challenge"}, &p); e != "" || p.PreferredFraming != amp.FramingChallenge {
		t.Fatalf("update_profile: %s, framing %s", e, p.PreferredFraming)
	}
	wantToolError(t, callTool(t, a, mcp.ToolGetContext, map[string]any{"userId": "", "task": "t"}, &mc), amp.CodeInvalidUserID)

	// The prompt and the resource template.
	pr, err := a.GetPrompt(ctx, &gomcp.GetPromptParams{Name: mcp.PromptPresentTask, Arguments: map[string]string{"userId": user, "task": "review the pull request"}})
	if err != nil {
		t.Fatal(err)
	}
	text := pr.Messages[0].Content.(*gomcp.TextContent).Text
	if !strings.Contains(text, "(AMP request req_") || !strings.Contains(text, "report_outcome") {
		t.Fatalf("present_task: %q", text)
	}
	rr, err := a.ReadResource(ctx, &gomcp.ReadResourceParams{URI: "amp://profiles/" + user})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(rr.Contents[0].Text), &p); err != nil || p.TotalInteractions != 1 {
		t.Fatalf("the profile resource: %v %s", err, rr.Contents[0].Text)
	}

	var del amp.DeleteResponse
	if e := callTool(t, b, mcp.ToolDeleteProfile, map[string]any{"userId": user}, &del); e != "" || !del.Success {
		t.Fatalf("delete_profile: %s", e)
	}
	wantToolError(t, callTool(t, a, mcp.ToolGetProfile, map[string]any{"userId": user}, &p), amp.CodeNotFound)
}

// TestMCP drives /mcp of a live `amp serve` with the SDK's client over
// Streamable HTTP, and `amp mcp` over stdio.
func TestMCP(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, dir)
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "mcp", "--plan", "enterprise", "--rate", "100000"))
	key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "test"))
	readOnly := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "test", "--scopes", "context"))

	t.Run("HTTP", func(t *testing.T) {
		cs := connectHTTP(t, s.URL, key)
		exerciseTools(t, cs, cs, "mcp_http_user")
	})
	t.Run("Stdio", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the amp binary; skipped in -short mode")
		}
		cs := connectStdio(t, s.URL, key)
		exerciseTools(t, cs, cs, "mcp_stdio_user")
	})
	t.Run("ScopeIsForbidden", func(t *testing.T) {
		cs := connectHTTP(t, s.URL, readOnly)
		var p amp.Profile
		wantToolError(t, callTool(t, cs, mcp.ToolGetProfile, map[string]any{"userId": "someone"}, &p), amp.CodeForbidden)
		var mc amp.Context
		if e := callTool(t, cs, mcp.ToolGetContext, map[string]any{"userId": "someone", "task": "t"}, &mc); e != "" {
			t.Fatalf("get_context with the context scope: %s", e)
		}
	})
	t.Run("TestAndLiveAreApart", func(t *testing.T) {
		live := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live"))
		test, prod := connectHTTP(t, s.URL, key), connectHTTP(t, s.URL, live)
		var mc amp.Context
		if e := callTool(t, test, mcp.ToolGetContext, map[string]any{"userId": "mode_user", "task": "t"}, &mc); e != "" {
			t.Fatal(e)
		}
		var ok amp.OutcomeResponse
		wantToolError(t, callTool(t, prod, mcp.ToolReportOutcome, map[string]any{"requestId": mc.RequestID, "started": true}, &ok), amp.CodeInvalidRequestID)
	})
	t.Run("NoKeyIs401", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer amp_sk_test_000000000000000000000000000000"} {
			req, _ := http.NewRequest("POST", s.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var env amp.ErrorBody
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") ||
				json.Unmarshal(body, &env) != nil || env.Error.Code != amp.CodeUnauthorized {
				t.Fatalf("Authorization %q: HTTP %d, WWW-Authenticate %q, body %s; want 401 UNAUTHORIZED with a Bearer challenge",
					auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
		// The SDK's client fails to connect without a key.
		c := gomcp.NewClient(&gomcp.Implementation{Name: "amp-test", Version: "1"}, nil)
		if _, err := c.Connect(context.Background(), &gomcp.StreamableClientTransport{Endpoint: s.URL + "/mcp", MaxRetries: -1}, nil); err == nil {
			t.Fatal("the SDK's client connected without a key")
		}
	})
}

// TestMCPTwoInstances runs the same calls against two `amp serve`
// processes on one PostgreSQL database, taking contexts from one instance
// and reporting outcomes to the other: the endpoint keeps no session.
func TestMCPTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the amp binary and runs two servers; skipped in -short mode")
	}
	if os.Getenv("AMP_TEST_POSTGRES_URL") == "" {
		t.Skip("AMP_TEST_POSTGRES_URL not set: the two-instance MCP test needs PostgreSQL (scripts/pg-test-server.sh start prints one)")
	}
	dbURL := postgresURL(t)
	bin := ampBinary(t)
	db := "--database-url=" + dbURL
	runBin(t, bin, "migrate", db)
	acct := runBin(t, bin, "accounts", "create", db, "--name", "mcp", "--plan", "enterprise", "--rate", "100000")
	key := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live")
	narrow := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live", "--scopes", "context,outcome")
	env := "AMP_DATABASE_URL=" + dbURL
	a := startChild(t, bin, "A", nil, env)
	b := startChild(t, bin, "B", nil, env)

	t.Run("HTTP", func(t *testing.T) {
		exerciseTools(t, connectHTTP(t, a.URL, key), connectHTTP(t, b.URL, key), "mcp_two_http")
	})
	t.Run("Stdio", func(t *testing.T) {
		exerciseTools(t, connectStdio(t, a.URL, key), connectStdio(t, b.URL, key), "mcp_two_stdio")
	})
	t.Run("ScopeIsForbidden", func(t *testing.T) {
		var p amp.Profile
		wantToolError(t, callTool(t, connectHTTP(t, b.URL, narrow), mcp.ToolGetProfile, map[string]any{"userId": "u"}, &p), amp.CodeForbidden)
	})
}
