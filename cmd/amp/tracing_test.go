package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/amp-protocol/amp"
)

// otlpReceiver is an in-process OTLP/HTTP trace receiver.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	srv   *httptest.Server
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *otlpReceiver) trace(id []byte) []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range rc.spans {
		if bytes.Equal(s.TraceId, id) {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key != key {
			continue
		}
		switch v := kv.Value.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		}
	}
	return ""
}

// TestTracing runs `amp serve` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at
// an in-process receiver, sends an outcome and an MCP tool call under
// callers' traceparents, and checks the spans they yield: one server span
// each, child of the caller's span, with the stable HTTP conventions and
// the service's and the store's steps beneath, and no key, user id or task
// text anywhere.
func TestTracing(t *testing.T) {
	rc := newOTLPReceiver(t)
	dir := t.TempDir()
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "traced", "--plan", "enterprise", "--rate", "100000"))
	key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live"))
	s := startServeEnv(t, dir, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rc.srv.URL, "OTEL_SERVICE_NAME": "amp-test"})
	const user, task = "traced_user_3141", "the secret task text 2718"
	ctx := context.Background()
	mc, err := s.newClient(t, key).GetContext(ctx, amp.ContextRequest{UserID: user, Task: task})
	if err != nil {
		t.Fatal(err)
	}

	post := func(path, traceparent, body string, header map[string]string) int {
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", traceparent)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	outcomeTrace, parent := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if st := post("/v1/outcome", "00-"+outcomeTrace+"-"+parent+"-01", `{"requestId":"`+mc.RequestID+`","started":true,"completed":true}`, nil); st != 200 {
		t.Fatalf("outcome: HTTP %d", st)
	}
	mcpTrace := "5bf92f3577b34da6a3ce929d0e0e4737"
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context","arguments":{"userId":"` + user + `","task":"` + task + `"}}}`
	if st := post("/mcp", "00-"+mcpTrace+"-"+parent+"-01", call, map[string]string{"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}); st != 200 {
		t.Fatalf("MCP tools/call: HTTP %d", st)
	}
	if err := s.Stop(); err != nil { // the shutdown exports what is buffered
		t.Fatal(err)
	}

	check := func(traceHex, route string, wantChildren ...string) {
		t.Helper()
		id, _ := hex.DecodeString(traceHex)
		spans := rc.trace(id)
		var server *tracepb.Span
		for _, sp := range spans {
			if sp.Kind == tracepb.Span_SPAN_KIND_SERVER {
				if server != nil {
					t.Fatalf("trace %s has two server spans", traceHex)
				}
				server = sp
			}
		}
		if server == nil {
			t.Fatalf("trace %s has no server span; %d spans received in all", traceHex, len(rc.spans))
		}
		if hex.EncodeToString(server.ParentSpanId) != parent {
			t.Errorf("the server span's parent is %x, want the caller's %s", server.ParentSpanId, parent)
		}
		if server.Name != "POST "+route || attr(server, "http.route") != route || attr(server, "http.request.method") != "POST" ||
			attr(server, "http.response.status_code") != "200" || attr(server, "url.path") != "" {
			t.Errorf("server span %q: route %q, method %q, status %q, url.path %q", server.Name, attr(server, "http.route"),
				attr(server, "http.request.method"), attr(server, "http.response.status_code"), attr(server, "url.path"))
		}
		names := map[string]bool{}
		for _, sp := range spans {
			if sp != server && !bytes.Equal(sp.ParentSpanId, server.SpanId) {
				// Children of children (none today) would be fine too, but
				// every step hangs off the request.
				t.Errorf("span %s is not a child of the server span", sp.Name)
			}
			names[sp.Name] = true
		}
		for _, want := range wantChildren {
			if !names[want] {
				t.Errorf("trace %s (%s) lacks a %s span; has %v", traceHex, route, want, names)
			}
		}
	}
	check(outcomeTrace, "/v1/outcome", amp.SpanAuthenticate, "store.RecordOutcome", amp.SpanLearn)
	check(mcpTrace, "/mcp", amp.SpanAuthenticate, amp.SpanDecide, "store.SaveDecision", "store.Profile")

	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, sp := range rc.spans {
		b, _ := proto.Marshal(sp)
		for _, secret := range []string{key, user, task, amp.HashKey(key)} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("span %s carries %q", sp.Name, secret)
			}
		}
	}
}

// startServeEnv is startServe with an environment.
func startServeEnv(t *testing.T, dir string, env map[string]string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}}
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, mapEnv(env), strings.NewReader(""), s.Stdout, s.Stderr)
	}()
	var once sync.Once
	s.stop = func() error {
		once.Do(func() { cancel(); <-done })
		return runErr
	}
	t.Cleanup(func() { s.stop() })
	s.URL = s.Stdout.waitFor(t, listeningRE, done)[1]
	return s
}
