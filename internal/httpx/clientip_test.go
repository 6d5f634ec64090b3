package httpx_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/amp-protocol/amp/internal/httpx"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"Direct", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"UntrustedPeerForges", "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"TrustedProxy", "10.0.0.2:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"ChainOfProxies", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.7, 10.0.0.9"}, "198.51.100.7"},
		{"SeveralHeaders", "10.0.0.2:80", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"Garbage", "10.0.0.2:80", []string{"not-an-ip"}, "10.0.0.2"},
		{"GarbageAfterClient", "10.0.0.2:80", []string{"198.51.100.1, not-an-ip"}, "10.0.0.2"},
		{"OnlyProxies", "10.0.0.2:80", []string{"10.1.1.1"}, "10.1.1.1"},
		{"IPv6", "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"Mapped", "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
		{"MappedTrusted", "[::ffff:10.0.0.1]:80", []string{"198.51.100.3"}, "198.51.100.3"},
		{"BareIP", "203.0.113.5", nil, "203.0.113.5"},
		{"NotAnAddress", "@unix", []string{"198.51.100.3"}, "@unix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := httpx.ClientIP(r, trusted); got != tc.want {
				t.Errorf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                "/",
		"/":               "/",
		"/v1/profile/..":  "/v1",
		"/dashboard/./x":  "/dashboard/x",
		"//dashboard":     "/dashboard",
		"/dashboard/a/":   "/dashboard/a/",
		"v1":              "/v1",
		"/a/../../b/":     "/b/",
		"/v1/profile/u%2": "/v1/profile/u%2",
	} {
		if got := httpx.CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}
