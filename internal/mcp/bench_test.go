package mcp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpapi"
)

// BenchmarkToolCall measures one stateless get_context tools/call through
// the /mcp handler, without the network: the SDK's per-POST session and
// decoding plus the service call. BenchmarkContext is its yardstick, and
// amp bench compares the two over loopback.
func BenchmarkToolCall(b *testing.B) {
	f := newFixtureB(b)
	key := f.keyB(b, amp.ModeLive)
	h := f.srv.Config.Handler
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context","arguments":{"userId":"u` + strconv.Itoa(i%100) + `","task":"build a login page"}}}`
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-06-18")
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"isError":true`) {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkContext measures the same get_context as POST /v1/context
// through the API's handler, with the same service, store and harness as
// BenchmarkToolCall: what the MCP front end adds is the difference.
func BenchmarkContext(b *testing.B) {
	f := newFixtureB(b)
	key := f.keyB(b, amp.ModeLive)
	h := httpapi.New(f.svc, httpapi.Config{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := `{"userId":"u` + strconv.Itoa(i%100) + `","task":"build a login page"}`
		req := httptest.NewRequest("POST", "/v1/context", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkLoopbackToolCall and BenchmarkLoopbackContext are the two
// benchmarks above over loopback HTTP, the client included, with /mcp
// mounted beside the API as amp serve mounts it.
func BenchmarkLoopbackToolCall(b *testing.B) { benchLoopback(b, true) }
func BenchmarkLoopbackContext(b *testing.B)  { benchLoopback(b, false) }

func benchLoopback(b *testing.B, viaMCP bool) {
	f := newFixtureB(b)
	key := f.keyB(b, amp.ModeLive)
	mux := http.NewServeMux()
	mux.Handle("/mcp", f.h)
	mux.Handle("/", httpapi.New(f.svc, httpapi.Config{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hc := srv.Client()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		args := `{"userId":"u` + strconv.Itoa(i%100) + `","task":"build a login page"}`
		var req *http.Request
		if viaMCP {
			req, _ = http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context","arguments":`+args+`}}`))
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
		} else {
			req, _ = http.NewRequest("POST", srv.URL+"/v1/context", strings.NewReader(args))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || strings.Contains(string(body), `"isError":true`) {
			b.Fatalf("HTTP %d: %s (%v)", resp.StatusCode, body, err)
		}
	}
}
