package service

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// TestThrottleAnswer: a throttled attempt is RATE_LIMIT_EXCEEDED with the
// wait in whole seconds, rounded up, and a message in minutes; sign-up
// attempts (no email) are held to the address's budget only.
func TestThrottleAnswer(t *testing.T) {
	th := newLoginThrottle(nil, rand.Reader)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := ratelimit.LoginAttempt{Email: "a@example.com", IP: "ip1"}
	for range ratelimit.PairBurst {
		if err := th.check(a, now); err != nil {
			t.Fatalf("refused before the pair's burst: %v", err)
		}
		th.fail(a, now)
	}
	err := th.check(a, now)
	if amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
		t.Fatalf("past the burst: %v, want RATE_LIMIT_EXCEEDED", err)
	}
	secs, _ := amp.ErrorDetails(err)["retryAfter"].(int)
	if want := int(ratelimit.PairRefill / time.Second); secs < 1 || secs > want {
		t.Errorf("retryAfter = %d, want 1..%d", secs, want)
	}
	if msg := amp.ErrorMessage(err); msg != "Too many attempts. Wait a minute, then try again." {
		t.Errorf("message %q", msg)
	}
	if err := th.check(a, now.Add(ratelimit.PairRefill)); err != nil {
		t.Errorf("after one refill period: %v", err)
	}
	// Sign-ups spend from the address's budget alone.
	signup := ratelimit.LoginAttempt{IP: "ip2"}
	for range ratelimit.IPBurst {
		th.fail(signup, now)
	}
	if err := th.check(signup, now); amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
		t.Errorf("sign-up past the address's burst: %v", err)
	}
	if err := th.check(ratelimit.LoginAttempt{IP: "ip3"}, now); err != nil {
		t.Errorf("another address: %v", err)
	}
	// A success returns a device token that later attempts present.
	tok := th.succeed(ratelimit.LoginAttempt{Email: "b@example.com", IP: "ip2"}, now)
	if tok == "" {
		t.Fatal("no device token")
	}
	if err := th.check(ratelimit.LoginAttempt{Email: "b@example.com", IP: "ip2", Device: tok}, now); err != nil {
		t.Errorf("a known device behind a drained address: %v", err)
	}
}
