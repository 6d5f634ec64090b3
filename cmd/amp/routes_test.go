package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestOneChainForEveryRoute checks the wiring of `amp serve`: the API, the
// dashboard, /metrics (served on the API's address with a token) and the
// probes all pass the one middleware chain, so every answer carries
// X-Request-Id and /metrics counts dashboard routes by pattern; odd paths
// get their front end's 404, never a bare redirect.
func TestOneChainForEveryRoute(t *testing.T) {
	var lg logs
	const token = "metrics-token-0123456789"
	s := startServe(t, &lg, t.TempDir(), "--signup", "open", "--metrics-token", token)
	auth := ""
	get := func(path string) (*http.Response, string) {
		t.Helper()
		// A raw request line, so that no client cleans the path first.
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: amp.test\r\nConnection: close\r\n"+auth+"\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, tc := range []struct {
		path   string
		status int
		kind   string // "json" envelope, "html" page, or "" for anything
	}{
		{"/healthz", 200, ""},
		{"/dashboard/login", 200, "html"},
		{"/dashboard/signup", 200, "html"},
		{"/dashboard/nope", 404, "html"},
		{"/dashboard/test/../keys", 404, "html"},
		{"/v1/profile/..", 404, "json"},
		{"/v1/profile/u/../..", 404, "json"},
		{"/v1//context", 404, "json"},
		{"/nope", 404, "json"},
		{"/", 302, ""},
	} {
		res, body := get(tc.path)
		id := res.Header.Get("X-Request-Id")
		if res.StatusCode != tc.status || !strings.HasPrefix(id, "req_") {
			t.Errorf("GET %s: %d with X-Request-Id %q, want %d with an id", tc.path, res.StatusCode, id, tc.status)
			continue
		}
		switch tc.kind {
		case "json":
			var env struct {
				Error struct{ Code, RequestID string }
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.RequestID != id {
				t.Errorf("GET %s: %s, want the envelope with request id %s", tc.path, body, id)
			}
		case "html":
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Errorf("GET %s: Content-Type %q, want the dashboard's page", tc.path, res.Header.Get("Content-Type"))
			}
		}
		if tc.path != "/healthz" && !strings.Contains(lg.String(), id) { // probes log at debug level
			t.Errorf("GET %s: no log line with its request id %s", tc.path, id)
		}
	}
	if res, _ := get("/metrics"); res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("X-Request-Id"), "req_") {
		t.Errorf("GET /metrics without the token: %d with X-Request-Id %q, want 401 through the chain", res.StatusCode, res.Header.Get("X-Request-Id"))
	}
	auth = "Authorization: Bearer " + token + "\r\n"
	res, metrics := get("/metrics")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("X-Request-Id"), "req_") {
		t.Errorf("GET /metrics with the token: %d with X-Request-Id %q, want 200 through the chain", res.StatusCode, res.Header.Get("X-Request-Id"))
	}
	for _, want := range []string{
		`amp_http_requests_total{route="GET /dashboard/login",status="200"} 1`,
		`amp_http_requests_total{route="GET /dashboard/signup",status="200"} 1`,
		`amp_http_requests_total{route="GET /healthz",status="200"} 1`,
		`amp_http_requests_total{route="GET /",status="302"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
