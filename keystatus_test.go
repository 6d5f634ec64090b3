package amp_test

import (
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func TestKeyStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	for _, c := range []struct {
		name             string
		expires, revoked *time.Time
		want             amp.KeyStatus
		usable           bool
	}{
		{"no end", nil, nil, amp.KeyActive, true},
		{"a lifetime, or a rolled key in its grace", at(time.Hour), nil, amp.KeyExpiring, true},
		{"the last instant of the grace", at(time.Nanosecond), nil, amp.KeyExpiring, true},
		{"the grace ends now", at(0), nil, amp.KeyExpired, false},
		{"expired", at(-time.Hour), nil, amp.KeyExpired, false},
		{"revoked", nil, at(-time.Hour), amp.KeyRevoked, false},
		{"revoked in its grace", at(time.Hour), at(-time.Minute), amp.KeyRevoked, false},
		{"revoked after expiry", at(-time.Hour), at(-time.Minute), amp.KeyRevoked, false},
	} {
		k := &amp.APIKey{ExpiresAt: c.expires, RevokedAt: c.revoked}
		if got := k.Status(now); got != c.want || got.Usable() != c.usable {
			t.Errorf("%s: %s (usable %v); want %s (usable %v)", c.name, got, got.Usable(), c.want, c.usable)
		}
	}
}
