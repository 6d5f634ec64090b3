package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

// TestLifecycle walks one user through every /v1 route.
func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	c := f.getContext(t, f.liveKey, "user_123")
	if c.Metadata.ProfilePhase != amp.PhaseColdStart || c.Metadata.InteractionCount != 0 {
		t.Errorf("a new user: phase %s, %d interactions; want cold_start, 0", c.Metadata.ProfilePhase, c.Metadata.InteractionCount)
	}

	var out amp.OutcomeResponse
	wantOK(t, f.do(t, post("/v1/outcome", f.liveKey, map[string]any{
		"requestId": c.RequestID, "started": true, "completed": true, "timeToStart": 30, "flowState": true, "satisfaction": 0.9,
		"metadata": map[string]any{"source": "slack"},
	})), &out)
	if out != (amp.OutcomeResponse{Success: true, Message: "Outcome reported successfully"}) {
		t.Errorf("outcome response = %+v", out)
	}

	var p amp.Profile
	wantOK(t, f.do(t, request{method: "GET", path: "/v1/profile/user_123", key: f.liveKey}), &p)
	if p.UserID != "user_123" || p.TotalInteractions != 1 || p.CompletionRate != 1 || p.AverageTimeToStart != 30 ||
		p.FlowStateFrequency != 1 || p.ProfileVersion != amp.ProfileVersion || !p.CreatedAt.Equal(start) {
		t.Errorf("profile after one outcome = %+v", p)
	}
	if want := map[string]float64{"writing": 1}; !reflect.DeepEqual(p.TaskTypeAffinities, want) {
		t.Errorf("taskTypeAffinities = %v, want %v", p.TaskTypeAffinities, want)
	}
	if want := []amp.TimePattern{{HourStart: 12, HourEnd: 15, CompletionRate: 1, InteractionCount: 1}}; !reflect.DeepEqual(p.TimeOfDayPatterns, want) {
		t.Errorf("timeOfDayPatterns = %v, want %v", p.TimeOfDayPatterns, want)
	}

	c2 := f.getContext(t, f.liveKey, "user_123")
	if c2.Metadata.InteractionCount != 1 || c2.RequestID == c.RequestID {
		t.Errorf("second context: %+v", c2)
	}

	wantOK(t, f.do(t, request{method: "PUT", path: "/v1/profile/user_123", key: f.liveKey,
		body: map[string]any{"communicationStyle": "technical", "metadata": map[string]any{"team": "core"}}}), &p)
	if string(p.Metadata) != `{"team":"core"}` || !p.LastUpdated.Equal(start) {
		t.Errorf("after PUT: metadata %s, lastUpdated %v", p.Metadata, p.LastUpdated)
	}

	var del amp.DeleteResponse
	wantOK(t, f.do(t, request{method: "DELETE", path: "/v1/profile/user_123", key: f.liveKey}), &del)
	if !del.Success {
		t.Error(`delete response is not {"success": true}`)
	}
	wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/user_123", key: f.liveKey}), 404, amp.CodeNotFound)
	// Deletion took the pending request with it.
	wantError(t, f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": c2.RequestID, "started": true})), 404, amp.CodeInvalidRequestID)
}

func TestContextRequestIDIsHeader(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for range 3 {
		res := f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t"}))
		var c amp.Context
		wantOK(t, res, &c)
		if h := res.header.Get("X-Request-Id"); c.RequestID != h {
			t.Errorf("body requestId %s, header %s", c.RequestID, h)
		}
		if seen[c.RequestID] {
			t.Errorf("requestId %s issued twice", c.RequestID)
		}
		seen[c.RequestID] = true
	}
}

func TestRateLimitHeaders(t *testing.T) {
	t.Run("OnAuthenticatedResponses", func(t *testing.T) {
		f := newFixture(t)
		for _, r := range []request{
			post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t"}),
			{method: "GET", path: "/v1/profile/u", key: f.liveKey},
			post("/v1/outcome", f.liveKey, `{"requestId":"req_x"}`), // 400 after admission
		} {
			wantRateHeaders(t, f.do(t, r))
		}
	})
	t.Run("NotOnUnauthenticatedRoutes", func(t *testing.T) {
		f := newFixture(t)
		for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
			if h := f.do(t, request{method: "GET", path: path, key: f.liveKey}).header.Get("RateLimit-Limit"); h != "" {
				t.Errorf("%s: RateLimit-Limit %s", path, h)
			}
		}
	})
	t.Run("NoneWithoutLimiter", func(t *testing.T) {
		f := newFixture(t, func(o *options) { o.noLimiter = true })
		res := f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t"}))
		wantOK(t, res, nil)
		if h := res.header.Get("RateLimit-Limit"); h != "" {
			t.Errorf("RateLimit-Limit %q without a limiter, want none", h)
		}
	})
}

// TestRequestEvent checks what the service is told after each request.
func TestRequestEvent(t *testing.T) {
	f := newFixture(t)
	f.getContext(t, f.testKey, "u")
	ev := f.meter.next(t)
	keys, err := f.svc.Keys(context.Background(), f.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keyID string
	for _, k := range keys {
		if k.Mode == amp.ModeTest {
			keyID = k.ID
		}
	}
	if !strings.HasPrefix(ev.RequestID, "req_") {
		t.Errorf("event request id %q", ev.RequestID)
	}
	want := amp.RequestEvent{KeyID: keyID, AccountID: f.acct.ID, Mode: amp.ModeTest, Route: "POST /v1/context",
		Status: 200, ClientIP: "127.0.0.1", Duration: 0, At: start, RequestID: ev.RequestID}
	if ev != want {
		t.Errorf("event = %+v\nwant %+v", ev, want)
	}
	wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/none", key: f.testKey}), 404, amp.CodeNotFound)
	if ev := f.meter.next(t); ev.Status != 404 || ev.Route != "GET /v1/profile/{userId}" || ev.Code != amp.CodeNotFound {
		t.Errorf("event = %+v, want 404 NOT_FOUND on GET /v1/profile/{userId}", ev)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	f := newFixture(t)
	for _, h := range []string{"Bearer " + f.liveKey, "bearer " + f.liveKey, "BEARER  " + f.liveKey + " "} {
		res := f.do(t, request{method: "GET", path: "/v1/profile/none", header: http.Header{"Authorization": {h}}})
		wantError(t, res, 404, amp.CodeNotFound) // authenticated: the profile is what is missing
	}
}

func TestDecoding(t *testing.T) {
	f := newFixture(t)
	t.Run("FormContentTypeAccepted", func(t *testing.T) {
		res := f.do(t, request{method: "POST", path: "/v1/context", key: f.liveKey, body: `{"userId":"u","task":"t"}`,
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
		wantOK(t, res, nil)
	})
	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		res := f.do(t, post("/v1/context", f.liveKey, `{"userId":"u","task":"t","future":{"x":[1,2]},"satisfaction":"n/a","UserId":7}`))
		wantOK(t, res, nil)
	})
	t.Run("WhitespaceAroundValue", func(t *testing.T) {
		wantOK(t, f.do(t, post("/v1/context", f.liveKey, " \n{\"userId\":\"u\",\"task\":\"t\"}\n\t ")), nil)
	})
	t.Run("NullOptionalFields", func(t *testing.T) {
		c := f.getContext(t, f.liveKey, "n")
		wantOK(t, f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": c.RequestID, "started": false,
			"completed": nil, "timeToStart": nil, "metadata": nil})), nil)
	})
	t.Run("ExactlyAtLimit", func(t *testing.T) {
		body := `{"userId":"u","task":"t","pad":"`
		body += strings.Repeat("x", amp.MaxBodyBytes-len(body)-2) + `"}`
		if len(body) != amp.MaxBodyBytes {
			t.Fatalf("body is %d bytes", len(body))
		}
		wantOK(t, f.do(t, post("/v1/context", f.liveKey, body)), nil)
	})
	t.Run("PercentDecodedUserID", func(t *testing.T) {
		var p amp.Profile
		wantOK(t, f.do(t, request{method: "PUT", path: "/v1/profile/team%2Falice%20b", key: f.liveKey, body: `{}`}), &p)
		if p.UserID != "team/alice b" {
			t.Errorf("userId = %q, want %q", p.UserID, "team/alice b")
		}
		wantOK(t, f.do(t, request{method: "GET", path: "/v1/profile/team%2Falice%20b", key: f.liveKey}), nil)
	})
	// The mux alone cannot route a segment that is only an escaped slash;
	// the server works around it so that userId "/" is reachable too.
	t.Run("SlashAloneUserID", func(t *testing.T) {
		c := f.getContext(t, f.liveKey, "/")
		f.reportOutcome(t, f.liveKey, c.RequestID)
		var p amp.Profile
		wantOK(t, f.do(t, request{method: "GET", path: "/v1/profile/%2F", key: f.liveKey}), &p)
		if p.UserID != "/" || p.TotalInteractions != 1 {
			t.Errorf("profile = %+v, want userId / with 1 interaction", p)
		}
		wantOK(t, f.do(t, request{method: "PUT", path: "/v1/profile/%2f", key: f.liveKey, body: `{}`}), nil)
		wantError(t, f.do(t, request{method: "POST", path: "/v1/profile/%2F", key: f.liveKey}), 405, amp.CodeMethodNotAllowed)
		wantOK(t, f.do(t, request{method: "DELETE", path: "/v1/profile/%2F", key: f.liveKey}), nil)
		wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/%2F", key: f.liveKey}), 404, amp.CodeNotFound)
	})
}

// TestClientIP checks whose address a request is attributed to, through
// the client IP of the request event.
func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"UntrustedPeerIgnoresHeader", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"TrustedPeer", "10.0.0.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"ForgedLeftEntriesIgnored", "10.0.0.1:4000", []string{"6.6.6.6, 198.51.100.1, 10.0.0.7"}, "198.51.100.1"},
		{"SeveralHeaders", "10.0.0.1:4000", []string{"6.6.6.6", "198.51.100.2, 10.1.1.1"}, "198.51.100.2"},
		{"AllTrusted", "10.0.0.1:4000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"NoHeader", "10.0.0.1:4000", nil, "10.0.0.1"},
		{"Garbage", "10.0.0.1:4000", []string{"198.51.100.1, not-an-ip"}, "10.0.0.1"},
		{"MappedIPv4Peer", "[::ffff:10.0.0.1]:4000", []string{"198.51.100.3"}, "198.51.100.3"},
		{"IPv6", "[fd00::1]:4000", []string{"2001:db8::5"}, "2001:db8::5"},
	}
	f := newFixture(t, func(o *options) { o.trustedProxies = trusted; o.noServer = true })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/profile/u", nil)
			r.RemoteAddr = c.peer
			r.Header.Set("Authorization", "Bearer "+f.liveKey)
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			f.server.ServeHTTP(httptest.NewRecorder(), r)
			if ev := f.meter.next(t); ev.ClientIP != c.want {
				t.Errorf("client IP = %s, want %s", ev.ClientIP, c.want)
			}
		})
	}
}

// TestForgedForwardedForCannotDodgeAuthLimit sends failed
// authentications from one peer with a different forged X-Forwarded-For
// each time: without trusted proxies they all count against the peer.
func TestForgedForwardedForCannotDodgeAuthLimit(t *testing.T) {
	f := newFixture(t, func(o *options) { o.authFailures = 3 })
	for i := range 3 {
		res := f.do(t, request{method: "POST", path: "/v1/context", key: "amp_sk_live_guess",
			header: http.Header{"X-Forwarded-For": {"198.51.100." + string(rune('1'+i))}}})
		wantError(t, res, 401, amp.CodeUnauthorized)
	}
	res := f.do(t, request{method: "POST", path: "/v1/context", key: "amp_sk_live_guess",
		header: http.Header{"X-Forwarded-For": {"198.51.100.99"}}})
	wantError(t, res, 429, amp.CodeRateLimitExceeded)

	// Behind a trusted proxy the forwarded address is the client, so one
	// client's failures do not lock out another.
	g := newFixture(t, func(o *options) {
		o.authFailures = 3
		o.trustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	for range 3 {
		wantError(t, g.do(t, request{method: "POST", path: "/v1/context", key: "amp_sk_live_guess",
			header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}), 401, amp.CodeUnauthorized)
	}
	wantError(t, g.do(t, request{method: "POST", path: "/v1/context", key: "amp_sk_live_guess",
		header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}), 429, amp.CodeRateLimitExceeded)
	wantOK(t, g.do(t, request{method: "POST", path: "/v1/context", key: g.liveKey, body: map[string]any{"userId": "u", "task": "t"},
		header: http.Header{"X-Forwarded-For": {"198.51.100.2"}}}), nil)
}

// TestAccessLog checks the access log's fields and that no key, nor the
// Authorization header, is ever logged.
func TestAccessLog(t *testing.T) {
	f := newFixture(t)
	c := f.getContext(t, f.liveKey, "u")
	bad := f.liveKey[:len(f.liveKey)-1] + "x"
	f.do(t, post("/v1/context", bad, map[string]any{"userId": "u", "task": "t"}))
	f.do(t, request{method: "GET", path: "/v1/profile/u", header: http.Header{"Authorization": {"Basic " + f.testKey}}})
	f.do(t, request{method: "GET", path: "/v1/profile/u?key=" + f.otherKey, key: f.otherKey})
	f.srv.Close() // waits for the handlers, and so for their log lines

	logs := f.logs.String()
	for _, secret := range []string{f.liveKey, bad, f.testKey, f.otherKey, "Bearer", "Authorization"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	var found bool
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "request" && l["request_id"] == c.RequestID {
			found = true
			for k, want := range map[string]any{"method": "POST", "route": "POST /v1/context", "status": float64(200), "account_id": f.acct.ID, "mode": "live"} {
				if l[k] != want {
					t.Errorf("access log %s = %v, want %v", k, l[k], want)
				}
			}
			if id, _ := l["key_id"].(string); !strings.HasPrefix(id, "key_") {
				t.Errorf("access log key_id = %v", l["key_id"])
			}
			if _, ok := l["duration"]; !ok {
				t.Error("access log has no duration")
			}
		}
	}
	if !found {
		t.Errorf("no access log line for %s:\n%s", c.RequestID, logs)
	}
}

// TestCancelledClientNotAnInternalError runs a request whose client has
// already gone: it must not be logged as an internal error.
func TestCancelledClientNotAnInternalError(t *testing.T) {
	f := newFixture(t, func(o *options) { o.noServer = true })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/v1/context", strings.NewReader(`{"userId":"u","task":"t"}`))
	r.Header.Set("Authorization", "Bearer "+f.liveKey)
	rec := httptest.NewRecorder()
	f.server.ServeHTTP(rec, r)
	if rec.Code < 500 {
		t.Fatalf("a cancelled request succeeded (%d); the test needs the store to notice", rec.Code)
	}
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "internal error" || l["level"] == "ERROR" {
			t.Errorf("a cancelled request was logged as an error: %v", l)
		}
	}
}

func TestHead(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/healthz", "/v1/openapi.json"} {
		res := f.do(t, request{method: "HEAD", path: path})
		if res.status != 200 || len(res.body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes", path, res.status, len(res.body))
		}
	}
}
