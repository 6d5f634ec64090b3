package service

import (
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// wait is how long the throttle makes an attempt wait, from its error.
func wait(th *loginThrottle, email, ip string, now time.Time) time.Duration {
	err := th.check(email, ip, now)
	if err == nil {
		return 0
	}
	secs, _ := amp.ErrorDetails(err)["retryAfter"].(int)
	return time.Duration(secs) * time.Second
}

func TestThrottle(t *testing.T) {
	th := newLoginThrottle()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range EmailFailureBurst {
		if w := wait(th, "a@example.com", "ip1", now); w != 0 {
			t.Fatalf("blocked after fewer than %d failures", EmailFailureBurst)
		}
		th.fail("a@example.com", "ip1", now)
	}
	w := wait(th, "a@example.com", "ip2", now)
	if w <= 0 || w > EmailRefill {
		t.Fatalf("wait after the burst = %v, want in (0, %v]", w, EmailRefill)
	}
	if w := wait(th, "b@example.com", "ip2", now); w != 0 {
		t.Errorf("another email from another IP waits %v", w)
	}
	if w := wait(th, "a@example.com", "ip2", now.Add(EmailRefill)); w != 0 {
		t.Errorf("wait after one refill period = %v, want 0", w)
	}
	th.succeed("a@example.com")
	if w := wait(th, "a@example.com", "ip2", now); w != 0 {
		t.Errorf("wait after a success = %v, want 0", w)
	}
	// The IP's failures stay after a success.
	for range IPFailureBurst - EmailFailureBurst {
		th.fail("", "ip1", now)
	}
	if w := wait(th, "c@example.com", "ip1", now); w <= 0 {
		t.Error("the IP is not blocked after its burst")
	}
}
