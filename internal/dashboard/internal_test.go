package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/dashboard/live/usage":                      "/dashboard/live/usage",
		"/dashboard/test/profiles/view?userId=a%2Fb": "/dashboard/test/profiles/view?userId=a%2Fb",
		"":                                "",
		"/":                               "",
		"//evil.example/":                 "",
		"/dashboard/\\@evil.example":      "",
		"https://evil.example/dashboard/": "",
		"/dashboard/\r\nSet-Cookie: x":    "",
		"/dashboardx":                     "",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	token := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	a, b := token(), token()
	if !csrfValid(a, csrfToken(a)) {
		t.Error("a session's own token is refused")
	}
	if csrfValid(a, csrfToken(b)) || csrfValid(a, "") || csrfValid("", csrfToken(a)) {
		t.Error("a wrong or empty token is accepted")
	}
	stored := sha256.Sum256([]byte(a)) // what the service stores
	if csrfToken(a) == hex.EncodeToString(stored[:]) || strings.Contains(csrfToken(a), a) {
		t.Error("the CSRF token reveals the session token or its stored hash")
	}
}

// Future times round to the nearest unit, past ones down.
func TestAgoRounding(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{now.Add(90*24*time.Hour - time.Second), "in 90 days"},
		{now.Add(-(2*time.Hour + 50*time.Minute)), "2 hours ago"},
		{now.Add(2*time.Hour + 50*time.Minute), "in 3 hours"},
		{now.Add(30 * time.Second), "in under a minute"},
	} {
		if got := ago(now, c.t); got != c.want {
			t.Errorf("ago(%v) = %q, want %q", c.t.Sub(now), got, c.want)
		}
	}
}
