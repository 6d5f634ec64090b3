package mcp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/mcp"
	"github.com/amp-protocol/amp/internal/service"
)

// diffCase is one request of TestFastPathMatchesSDK. In body, {{rid}} is
// the requestId of the fixture's last successful get_context.
type diffCase struct {
	name    string
	fast    bool // whether the fast path answers it, rather than the SDK
	method  string
	version string // MCP-Protocol-Version; "-" for none
	header  map[string]string
	body    string
	scoped  bool // sent with the key that lacks profiles:read
}

func toolCall(id, name, args string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`
}

const ctxArgs = `{"userId":"u1","task":"build a login page"}`

var diffCases = []diffCase{
	// Answered by the fast path.
	{name: "get_context", fast: true, body: toolCall("1", "get_context", ctxArgs)},
	{name: "every field", fast: true, body: toolCall("2", "get_context", `{"userId":"u1","task":"write <b>docs</b> & tests","complexity":"high","taskType":"writing","metadata":{"a":[1,{"b":"é \u00e9 \" \\ \n"}]}}`)},
	{name: "no version header", fast: true, version: "-", body: toolCall("3", "get_context", ctxArgs)},
	{name: "2024-11-05", fast: true, version: "2024-11-05", body: toolCall("4", "get_context", ctxArgs)},
	{name: "2025-03-26", fast: true, version: "2025-03-26", body: toolCall("5", "get_context", ctxArgs)},
	{name: "2025-11-25", fast: true, version: "2025-11-25", body: toolCall("6", "get_context", ctxArgs)},
	{name: "id 0", fast: true, body: toolCall("0", "get_context", ctxArgs)},
	{name: "negative id", fast: true, body: toolCall("-7", "get_context", ctxArgs)},
	{name: "-0 id", fast: true, body: toolCall("-0", "get_context", ctxArgs)},
	{name: "long id", fast: true, body: toolCall("123456789012345", "get_context", ctxArgs)},
	{name: "string id", fast: true, body: toolCall(`"abc-1 <&>"`, "get_context", ctxArgs)},
	{name: "empty string id", fast: true, body: toolCall(`""`, "get_context", ctxArgs)},
	{name: "members reordered, spaced", fast: true, body: "\n { \"params\" : { \"arguments\" : " + ctxArgs + " , \"name\" : \"get_context\" } ,\t\"method\":\"tools/call\", \"id\" : 9, \"jsonrpc\" : \"2.0\" }\r\n"},
	{name: "no arguments", fast: true, body: `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"get_context"}}`},
	{name: "empty arguments", fast: true, body: toolCall("11", "get_context", `{}`)},
	{name: "invalid userId", fast: true, body: toolCall("12", "get_context", `{"userId":"","task":"t"}`)},
	{name: "unknown argument", fast: true, body: toolCall("13", "get_context", `{"userId":"u1","task":"t","colour":"red"}`)},
	{name: "wrong argument type", fast: true, body: toolCall("14", "get_context", `{"userId":7,"task":"t"}`)},
	{name: "brackets in strings", fast: true, body: toolCall(`"}{]["`, "get_context", `{"userId":"u}1","task":"a}b,\"c]{[\\","metadata":{"k":[true,false,null,-1.5e3,{"}":"{"}]}}`)},
	{name: "literal last", fast: true, body: `{"id":60,"method":"tools/call","params":{"arguments":` + ctxArgs + `,"name":"get_context"},"jsonrpc":"2.0"}`},
	{name: "number last", fast: true, body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_context","arguments":` + ctxArgs + `},"id":61}`},
	{name: "escaped argument key", fast: true, body: toolCall("15", "get_context", `{"\u0075serId":"u1","task":"t"}`)},
	{name: "lone surrogate", fast: true, body: toolCall("16", "get_context", `{"userId":"u1","task":"a \ud800 b"}`)},
	{name: "charset and wildcard accept", fast: true, header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Accept": "*/*"}, body: toolCall("17", "get_context", ctxArgs)},
	{name: "session id ignored", fast: true, header: map[string]string{"Mcp-Session-Id": "s1"}, body: toolCall("18", "get_context", ctxArgs)},
	{name: "report_outcome", fast: true, body: toolCall("20", "report_outcome", `{"requestId":"{{rid}}","started":true,"completed":true,"satisfaction":0.8}`)},
	{name: "duplicate outcome", fast: true, body: toolCall("21", "report_outcome", `{"requestId":"{{rid}}","started":true}`)},
	{name: "bad requestId", fast: true, body: toolCall("22", "report_outcome", `{"requestId":"nope","started":true}`)},
	{name: "get_profile", fast: true, body: toolCall("23", "get_profile", `{"userId":"u1"}`)},
	{name: "forbidden", fast: true, scoped: true, body: toolCall("24", "get_profile", `{"userId":"u1"}`)},
	{name: "update_profile", fast: true, body: toolCall("25", "update_profile", `{"userId":"u1","communicationStyle":"technical"}`)},
	{name: "metadata echoed", fast: true, body: toolCall("29", "update_profile", `{"userId":"u1","metadata":{"html":"<b>&amp;</b>","sep":"a`+"\u2028"+`b\u2029c","esc":"\"\\\/\t\u0001","uni":"é日本\ud83d\ude00","n":[1.50,-0,1E2]}}`)},
	{name: "metadata read back", fast: true, body: toolCall("29", "get_profile", `{"userId":"u1"}`)},
	{name: "bad preference", fast: true, body: toolCall("26", "update_profile", `{"userId":"u1","preferredFraming":"<shouting> & \u2028"}`)},
	{name: "delete_profile", fast: true, body: toolCall("27", "delete_profile", `{"userId":"u1"}`)},
	{name: "profile gone", fast: true, body: toolCall("28", "get_profile", `{"userId":"u1"}`)},

	// Left to the SDK, which must still see the body as it came.
	{name: "unknown tool", body: toolCall("30", "nope", `{}`)},
	{name: "tools/list", body: `{"jsonrpc":"2.0","id":31,"method":"tools/list"}`},
	{name: "notification", body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_context","arguments":` + ctxArgs + `}}`},
	{name: "batch", version: "-", body: `[` + toolCall("32", "get_context", ctxArgs) + `]`},
	{name: "_meta", body: `{"jsonrpc":"2.0","id":33,"method":"tools/call","params":{"_meta":{"progressToken":1},"name":"get_context","arguments":` + ctxArgs + `}}`},
	{name: "null id", body: toolCall("null", "get_context", ctxArgs)},
	{name: "fractional id", body: toolCall("1.5", "get_context", ctxArgs)},
	{name: "exponent id", body: toolCall("1e2", "get_context", ctxArgs)},
	{name: "escaped id", body: toolCall(`"\u0061"`, "get_context", ctxArgs)},
	{name: "line separator id", body: toolCall("\"a\u2028b\"", "get_context", ctxArgs)},
	{name: "huge id", body: toolCall("12345678901234567890", "get_context", ctxArgs)},
	{name: "jsonrpc 1.0", body: strings.Replace(toolCall("34", "get_context", ctxArgs), `"2.0"`, `"1.0"`, 1)},
	{name: "no jsonrpc", body: `{"id":35,"method":"tools/call","params":{"name":"get_context","arguments":` + ctxArgs + `}}`},
	{name: "duplicate id", body: `{"jsonrpc":"2.0","id":36,"id":37,"method":"tools/call","params":{"name":"get_context","arguments":` + ctxArgs + `}}`},
	{name: "duplicate name", body: `{"jsonrpc":"2.0","id":38,"method":"tools/call","params":{"name":"nope","name":"get_context","arguments":` + ctxArgs + `}}`},
	{name: "capitalised member", body: `{"jsonrpc":"2.0","id":39,"Method":"tools/call","params":{"name":"get_context","arguments":` + ctxArgs + `}}`},
	{name: "extra member", body: `{"jsonrpc":"2.0","id":40,"method":"tools/call","params":{"name":"get_context","arguments":` + ctxArgs + `},"x":1}`},
	{name: "null arguments", body: toolCall("41", "get_context", `null`)},
	{name: "array arguments", body: toolCall("42", "get_context", `[1]`)},
	{name: "escaped tool name", body: toolCall("43", `get\u005fcontext`, ctxArgs)},
	{name: "trailing data", body: toolCall("44", "get_context", ctxArgs) + ` {}`},
	{name: "malformed", body: `{"jsonrpc":"2.0","id":45,"method":"tools/call","params":{"name":"get_context","arguments":{"userId":"u1",}}}`},
	{name: "empty body", body: ``},
	{name: "empty object", body: `{}`},
	{name: "a string", body: `"tools/call"`},
	{name: "number params", body: `{"jsonrpc":"2.0","id":62,"method":"tools/call","params":5}`},
	{name: "array params", body: `{"jsonrpc":"2.0","id":63,"method":"tools/call","params":["get_context"]}`},
	{name: "empty params", body: `{"jsonrpc":"2.0","id":64,"method":"tools/call","params":{}}`},
	{name: "invalid UTF-8", body: toolCall("46", "get_context", "{\"userId\":\"u1\",\"task\":\"a \xff b\"}")},
	{name: "deep metadata", body: toolCall("47", "get_context", `{"userId":"u1","task":"t","metadata":{"a":`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`}}`)},
	{name: "too deep", body: toolCall("48", "get_context", `{"userId":"u1","task":"t","metadata":{"a":`+strings.Repeat("[", 1001)+strings.Repeat("]", 1001)+`}}`)},
	{name: "too large", body: toolCall("49", "get_context", `{"userId":"u1","task":"`+strings.Repeat("x", 2*amp.MaxBodyBytes)+`"}`)},
	{name: "new protocol", version: "2026-07-28", body: toolCall("50", "get_context", ctxArgs)},
	{name: "unknown version", version: "2020-01-01", body: toolCall("51", "get_context", ctxArgs)},
	{name: "Last-Event-ID", header: map[string]string{"Last-Event-ID": "x_1"}, body: toolCall("52", "get_context", ctxArgs)},
	{name: "text/plain", header: map[string]string{"Content-Type": "text/plain"}, body: toolCall("53", "get_context", ctxArgs)},
	{name: "JSON only accepted", header: map[string]string{"Accept": "application/json"}, body: toolCall("54", "get_context", ctxArgs)},
	{name: "GET", method: "GET", body: ``},
	{name: "DELETE", method: "DELETE", body: ``},
}

// idPattern matches what differs between two fixtures by design: request
// ids (time-ordered) and timestamps.
var idPattern = regexp.MustCompile(`req_[0-9A-Za-z]+|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

// TestFastPathMatchesSDK sends the same requests to a handler with the
// fast path and to one that leaves everything to the SDK, each over its own
// but identical service, and compares the answers byte for byte (request
// ids and timestamps aside), then what each metered.
func TestFastPathMatchesSDK(t *testing.T) {
	type side struct {
		f            *fixture
		key, limited string
		rid          string
	}
	newSide := func(newHandler func(*service.Service, mcp.HandlerConfig) *mcp.Handler) *side {
		f := newFixtureWith(t, newHandler)
		return &side{f: f, key: f.key(t, amp.ModeLive), limited: f.key(t, amp.ModeLive, amp.ScopeContext)}
	}
	fast, sdk := newSide(mcp.NewHandler), newSide(mcp.NewSDKHandler)
	send := func(s *side, c diffCase) (*http.Response, string) {
		method := c.method
		if method == "" {
			method = "POST"
		}
		body := strings.ReplaceAll(c.body, "{{rid}}", s.rid)
		req := httptest.NewRequest(method, "/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		switch c.version {
		case "":
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
		case "-":
		default:
			req.Header.Set("MCP-Protocol-Version", c.version)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		key := s.key
		if c.scoped {
			key = s.limited
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if got := mcp.FastPathTakes(s.f.h, method, req.Header, []byte(body)); s == fast && got != c.fast {
			t.Errorf("%s: fast path takes it: %v, want %v", c.name, got, c.fast)
		}
		w := httptest.NewRecorder()
		s.f.h.ServeHTTP(w, req)
		resp := w.Result()
		b, _ := io.ReadAll(resp.Body)
		var answer struct {
			Result struct {
				StructuredContent struct {
					RequestID string `json:"requestId"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		if json.Unmarshal(b, &answer) == nil && answer.Result.StructuredContent.RequestID != "" {
			s.rid = answer.Result.StructuredContent.RequestID
		}
		return resp, string(b)
	}
	for _, c := range diffCases {
		fr, fb := send(fast, c)
		sr, sb := send(sdk, c)
		if fr.StatusCode != sr.StatusCode {
			t.Errorf("%s: HTTP %d, the SDK's %d", c.name, fr.StatusCode, sr.StatusCode)
		}
		for _, h := range []http.Header{fr.Header, sr.Header} {
			h.Del("Date")
		}
		if !equalHeaders(fr.Header, sr.Header) {
			t.Errorf("%s: headers\n%v\nthe SDK's\n%v", c.name, fr.Header, sr.Header)
		}
		if fn, sn := idPattern.ReplaceAllString(fb, "ID"), idPattern.ReplaceAllString(sb, "ID"); fn != sn {
			t.Errorf("%s: body\n%s\nthe SDK's\n%s", c.name, fn, sn)
		}
		if c.fast && (fr.StatusCode != 200 || !strings.HasPrefix(fb, `{"jsonrpc":"2.0","id":`)) {
			t.Errorf("%s: not a JSON-RPC answer: HTTP %d %.300s", c.name, fr.StatusCode, fb)
		}
	}
	// Both metered the same API requests.
	metered := func(f *fixture) []string {
		f.meter.mu.Lock()
		defer f.meter.mu.Unlock()
		var out []string
		for _, ev := range f.meter.events {
			out = append(out, ev.Route+" "+http.StatusText(ev.Status))
		}
		return out
	}
	if fm, sm := metered(fast.f), metered(sdk.f); !slices.Equal(fm, sm) || len(fm) == 0 {
		t.Errorf("metered\n%v\nthe SDK path metered\n%v", fm, sm)
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestFastPathWithSDKClient drives the fast path with the SDK's own client,
// announcing a revision before 2026-07-28 (the client's default, 2026-07-28,
// is served by the SDK and covered by the other tests): the client must
// read its answers as the SDK's.
func TestFastPathWithSDKClient(t *testing.T) {
	f := newFixture(t)
	c := gomcp.NewClient(&gomcp.Implementation{Name: "t", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &gomcp.StreamableClientTransport{
		Endpoint: f.srv.URL, HTTPClient: &http.Client{Transport: bearer{f.key(t, amp.ModeLive)}}, MaxRetries: -1,
	}, &gomcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res := call(t, cs, mcp.ToolGetContext, map[string]any{"userId": "u1", "task": "plan <the> sprint"})
	var ctx amp.Context
	b, _ := json.Marshal(res.StructuredContent)
	if res.IsError || json.Unmarshal(b, &ctx) != nil || !strings.HasPrefix(ctx.RequestID, "req_") {
		t.Fatalf("get_context: %s %s", errorText(res), b)
	}
	if text := res.Content[0].(*gomcp.TextContent).Text; !json.Valid([]byte(text)) || !strings.Contains(text, ctx.RequestID) {
		t.Errorf("text content %q", text)
	}
	if res := call(t, cs, mcp.ToolReportOutcome, map[string]any{"requestId": ctx.RequestID, "started": true}); res.IsError {
		t.Fatal(errorText(res))
	}
	dup := errorText(call(t, cs, mcp.ToolReportOutcome, map[string]any{"requestId": ctx.RequestID, "started": true}))
	if !strings.HasPrefix(dup, amp.CodeOutcomeAlreadyReported+": ") {
		t.Fatalf("a duplicate outcome: %q", dup)
	}
	res = call(t, cs, mcp.ToolGetProfile, map[string]any{"userId": "u1"})
	var p amp.Profile
	b, _ = json.Marshal(res.StructuredContent)
	if res.IsError || json.Unmarshal(b, &p) != nil || p.TotalInteractions != 1 {
		t.Fatalf("profile %s %s: want the outcome learned", errorText(res), b)
	}
}
