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
		rolledTo         string
		want             amp.KeyStatus
		usable, rollable bool
	}{
		{"no end", nil, nil, "", amp.KeyActive, true, true},
		{"a lifetime", at(time.Hour), nil, "", amp.KeyExpiring, true, true},
		{"the last instant of a lifetime", at(time.Nanosecond), nil, "", amp.KeyExpiring, true, true},
		{"a rolled key in its grace", at(time.Hour), nil, "key_next", amp.KeyRolled, true, false},
		{"the last instant of the grace", at(time.Nanosecond), nil, "key_next", amp.KeyRolled, true, false},
		{"the grace ends now", at(0), nil, "key_next", amp.KeyExpired, false, false},
		{"the lifetime ends now", at(0), nil, "", amp.KeyExpired, false, false},
		{"expired", at(-time.Hour), nil, "", amp.KeyExpired, false, false},
		{"revoked", nil, at(-time.Hour), "", amp.KeyRevoked, false, false},
		{"revoked in its grace", at(time.Hour), at(-time.Minute), "key_next", amp.KeyRevoked, false, false},
		{"revoked after expiry", at(-time.Hour), at(-time.Minute), "", amp.KeyRevoked, false, false},
	} {
		k := &amp.APIKey{ExpiresAt: c.expires, RevokedAt: c.revoked, RolledTo: c.rolledTo}
		if got := k.Status(now); got != c.want || got.Usable() != c.usable || got.Rollable() != c.rollable {
			t.Errorf("%s: %s (usable %v, rollable %v); want %s (usable %v, rollable %v)", c.name, got, got.Usable(), got.Rollable(), c.want, c.usable, c.rollable)
		}
	}
}
