package dashboard_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The dashboard is served behind the API's middleware chain: every
// response carries X-Request-Id, every request gets an access-log line
// naming its route pattern, and /metrics counts it by that pattern.
func TestDashboardBehindTheChain(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	for _, tc := range []struct {
		path, route string
		status      int
	}{
		{"/dashboard/login", "GET /dashboard/login", http.StatusSeeOther}, // signed in: sent on
		{"/dashboard/test/keys", "GET /dashboard/test/keys", http.StatusOK},
		{"/dashboard/live/usage", "GET /dashboard/live/usage", http.StatusOK},
		{"/dashboard/nope", "", http.StatusNotFound},
	} {
		r := c.get(tc.path)
		wantStatus(t, tc.path, r, tc.status)
		id := r.header.Get("X-Request-Id")
		if !strings.HasPrefix(id, "req_") {
			t.Errorf("%s: X-Request-Id %q", tc.path, id)
			continue
		}
		line := logLine(e.logs.String(), "request_id="+id)
		if line == "" || !strings.Contains(line, "msg=request") {
			t.Errorf("%s: no access-log line for request %s", tc.path, id)
			continue
		}
		if tc.route != "" && !strings.Contains(line, `route="`+tc.route+`"`) {
			t.Errorf("%s: access-log line without its route %q: %s", tc.path, tc.route, line)
		}
		if strings.Contains(line, "amp_session") || strings.Contains(line, c.cookie("amp_session")) {
			t.Errorf("%s: the access log holds the session: %s", tc.path, line)
		}
	}
	m := c.get("/metrics")
	wantStatus(t, "GET /metrics", m, http.StatusOK)
	if m.header.Get("X-Request-Id") == "" {
		t.Error("/metrics without X-Request-Id")
	}
	for _, want := range []string{
		`amp_http_requests_total{route="GET /dashboard/test/keys",status="200"} 1`,
		`amp_http_requests_total{route="GET /dashboard/live/usage",status="200"} 1`,
		`amp_http_requests_total{route="POST /dashboard/signup",status="303"} 1`,
		`amp_http_requests_total{route="unmatched",status="404"} 1`,
		`amp_http_request_duration_seconds_count{route="GET /dashboard/test/keys"} 1`,
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// logLine returns the first line of logs containing sub, or "".
func logLine(logs, sub string) string {
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, sub) {
			return line
		}
	}
	return ""
}

// Odd paths are answered by the front end that owns them, never with a
// bare redirect: the dashboard's 404 page under /dashboard/, the JSON
// envelope elsewhere, with X-Request-Id always.
func TestOddPaths(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com")
	for _, tc := range []struct {
		path string
		html bool
	}{
		{"/dashboard/test/../keys", true},
		{"/dashboard//test/keys", true},
		{"/dashboard/./login", true},
		{"/dashboard/nope", true},
		{"/v1/profile/..", false},
		{"/v1/profile/../../dashboard/test/keys", false},
		{"/v1//context", false},
		{"/nope", false},
		{"/metrics/", false},
	} {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Go's client would clean some of these; send them as written.
		req.URL.Opaque = tc.path
		r := c.do(req)
		if r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404 (Location %q)", tc.path, r.status, r.location())
			continue
		}
		id := r.header.Get("X-Request-Id")
		if id == "" {
			t.Errorf("%s: no X-Request-Id", tc.path)
		}
		ct := r.header.Get("Content-Type")
		if tc.html {
			if !strings.HasPrefix(ct, "text/html") || !strings.Contains(r.body, "Not Found") {
				t.Errorf("%s: Content-Type %q, want the dashboard's 404 page", tc.path, ct)
			}
			if !strings.Contains(r.body, id) {
				t.Errorf("%s: the error page does not show its request id %s", tc.path, id)
			}
			continue
		}
		var body struct {
			Error struct{ Code, RequestID string }
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error.Code != "NOT_FOUND" || body.Error.RequestID != id {
			t.Errorf("%s: body %s, want the NOT_FOUND envelope with request id %s", tc.path, r.body, id)
		}
	}
}
