package httpapi_test

import (
	"testing"

	"github.com/amp-protocol/amp"
)

// TestUnauthorizedChallenge checks that every 401 names the Bearer scheme
// (RFC 9110 §15.5.2), with error="invalid_token" when a key was sent.
func TestUnauthorizedChallenge(t *testing.T) {
	f := newFixture(t)
	body := map[string]any{"userId": "u", "task": "t"}
	for _, c := range []struct {
		key, want string
	}{
		{"", `Bearer realm="amp"`},
		{"amp_sk_live_nope", `Bearer realm="amp", error="invalid_token"`},
	} {
		r := f.do(t, post("/v1/context", c.key, body))
		wantError(t, r, 401, amp.CodeUnauthorized)
		if got := r.header.Get("WWW-Authenticate"); got != c.want {
			t.Errorf("key %q: WWW-Authenticate %q, want %q", c.key, got, c.want)
		}
	}
	if got := f.do(t, post("/v1/context", f.liveKey, body)).header.Get("WWW-Authenticate"); got != "" {
		t.Errorf("a 200 carries WWW-Authenticate %q", got)
	}
}
