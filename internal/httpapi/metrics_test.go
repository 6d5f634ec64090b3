package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amp-protocol/amp/internal/metrics"
)

// TestMetrics checks that answered requests and refused authentications
// reach the Prometheus registry the server was given.
func TestMetrics(t *testing.T) {
	m := metrics.New()
	f := newFixture(t, func(o *options) { o.metrics = m; o.authFailures = 1 })
	f.getContext(t, f.testKey, "u1")
	f.do(t, request{method: "GET", path: "/v1/profile/nobody", key: f.testKey})
	f.do(t, request{method: "GET", path: "/v1/profile/u1", key: "amp_sk_test_bogus"})
	f.do(t, request{method: "GET", path: "/v1/profile/u1", key: "amp_sk_test_bogus"}) // refused: budget of 1 spent

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`route="POST /v1/context",status="200"} 1`,
		`route="GET /v1/profile/{userId}",status="404"} 1`,
		`route="GET /v1/profile/{userId}",status="429"} 1`,
		`reason="auth"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestUnmatchedPathKeyRedacted checks that a key pasted into an unknown URL
// does not reach the access log.
func TestUnmatchedPathKeyRedacted(t *testing.T) {
	f := newFixture(t)
	f.do(t, request{method: "GET", path: "/v1/nowhere/" + f.liveKey + "/x"})
	logs := f.logs.String()
	if strings.Contains(logs, f.liveKey[12:]) {
		t.Fatalf("the access log holds the key:\n%s", logs)
	}
	if !strings.Contains(logs, "/v1/nowhere/[redacted]/x") {
		t.Fatalf("the access log lacks the redacted path:\n%s", logs)
	}
}
