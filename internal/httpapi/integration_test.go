package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// TestRealEngineAndLimiter runs the server with the real learning engine
// and rate limiter instead of fakes. Every response is checked against the
// OpenAPI document by do, so this is where the real engine's answers
// (confidences, enums, phases) are held to the documented schemas.
func TestRealEngineAndLimiter(t *testing.T) {
	f := newFixture(t, func(o *options) {
		o.learner = learn.New(learn.Config{})
		o.limiter = ratelimit.New(ratelimit.Config{})
	})
	for i := range 25 {
		f.clock.Advance(time.Second) // let the rate bucket refill
		c := f.getContext(t, f.testKey, "dev")
		if got, want := c.Metadata.ProfilePhase, amp.PhaseFor(i); got != want || c.Metadata.InteractionCount != i {
			t.Fatalf("context %d: phase %s with %d interactions, want %s with %d", i, got, c.Metadata.InteractionCount, want, i)
		}
		f.reportOutcome(t, f.testKey, c.RequestID)
	}
	var p amp.Profile
	wantOK(t, f.do(t, request{method: "GET", path: "/v1/profile/dev", key: f.testKey}), &p)
	if p.TotalInteractions != 25 || p.ProfilePhase != amp.PhaseOptimised {
		t.Errorf("profile after 25 outcomes: %d interactions, phase %s", p.TotalInteractions, p.ProfilePhase)
	}
	f.clock.Advance(time.Second)
	wantOK(t, f.do(t, request{method: "PUT", path: "/v1/profile/dev", key: f.testKey,
		body: map[string]any{"preferredFraming": "challenge", "encouragementLevel": "none"}}), &p)

	// The starter plan's burst is one second's worth, 10 requests per
	// account and mode; the 11th in the same instant is refused.
	f.clock.Advance(2 * time.Second)
	for i := range 10 {
		res := f.do(t, request{method: "GET", path: "/v1/profile/dev", key: f.liveKey})
		wantError(t, res, http.StatusNotFound, amp.CodeNotFound) // live mode has no "dev"
		if got, want := res.header.Get("RateLimit-Remaining"), strconv.Itoa(9-i); got != want || res.header.Get("RateLimit-Limit") != "10" {
			t.Fatalf("request %d: RateLimit-Limit %s, Remaining %s; want 10, %s", i+1, res.header.Get("RateLimit-Limit"), got, want)
		}
	}
	res := f.do(t, request{method: "GET", path: "/v1/profile/dev", key: f.liveKey})
	e := wantError(t, res, http.StatusTooManyRequests, amp.CodeRateLimitExceeded)
	ra, err := strconv.Atoi(res.header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Errorf("Retry-After = %q, want whole seconds ≥ 1", res.header.Get("Retry-After"))
	}
	if d, ok := e.Details["retryAfter"].(float64); !ok || int(d) != ra {
		t.Errorf("details.retryAfter = %v, Retry-After %d", e.Details["retryAfter"], ra)
	}
	// Test mode is limited separately from live.
	wantOK(t, f.do(t, request{method: "GET", path: "/v1/profile/dev", key: f.testKey}), nil)
}
