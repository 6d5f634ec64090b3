package dashboard

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

var cheap = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h, err := newHasher(cheap, rand.Reader, 2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q lacks the PHC prefix of its parameters", enc)
	}
	enc2, _ := h.hash(ctx, "correct horse battery staple")
	if enc == enc2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
		{"", false},
	} {
		ok, rehash, err := h.verify(ctx, enc, tc.pw)
		if err != nil || ok != tc.want || rehash {
			t.Errorf("verify(%q) = %v, %v, %v; want %v, false, nil", tc.pw, ok, rehash, err, tc.want)
		}
	}
	// A hash made with other parameters still verifies, and asks for a
	// rehash.
	stronger := cheap
	stronger.Memory, stronger.Time = 128, 2
	h2, err := newHasher(stronger, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := h2.verify(ctx, enc, "correct horse battery staple")
	if !ok || !rehash || err != nil {
		t.Errorf("verify with new parameters = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestPasswordHashMalformed(t *testing.T) {
	h, err := newHasher(cheap, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := h.hash(context.Background(), "pw")
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"Empty":      "",
		"Bcrypt":     "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZabcd",
		"Argon2i":    strings.Replace(good, "argon2id", "argon2i", 1),
		"Version":    strings.Replace(good, "v=19", "v=16", 1),
		"HugeMemory": strings.Join([]string{"", parts[1], parts[2], "m=4294967295,t=1,p=1", parts[4], parts[5]}, "$"),
		"ZeroTime":   strings.Join([]string{"", parts[1], parts[2], "m=64,t=0,p=1", parts[4], parts[5]}, "$"),
		"BadParam":   strings.Join([]string{"", parts[1], parts[2], "m=64,t=1,x=1", parts[4], parts[5]}, "$"),
		"BadSalt":    strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"ShortKey":   strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"Extra":      good + "$x",
	} {
		t.Run(name, func(t *testing.T) {
			if ok, _, err := h.verify(context.Background(), enc, "pw"); ok || err == nil {
				t.Errorf("verify(%q) = %v, %v; want false and an error", enc, ok, err)
			}
		})
	}
}

func TestPasswordParamsValidated(t *testing.T) {
	for _, p := range []PasswordParams{
		{},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := newHasher(p, rand.Reader, 1); err == nil {
			t.Errorf("newHasher(%+v) accepted invalid parameters", p)
		}
	}
}

// The unknown-email path of sign-in runs one argon2id verification, as the
// wrong-password path does, so that their timing cannot tell them apart.
func TestUnknownEmailCostsAVerification(t *testing.T) {
	h, err := newHasher(cheap, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := h.verified.Load()
	if err := h.burn(context.Background(), "whatever"); err != nil {
		t.Fatal(err)
	}
	if got := h.verified.Load() - before; got != 1 {
		t.Errorf("burn ran %d verifications, want 1", got)
	}
}

// The default parameters are usable and are what a new hash records.
func TestDefaultPasswordParams(t *testing.T) {
	if testing.Short() {
		t.Skip("hashing with the default parameters takes 19 MiB and tens of milliseconds")
	}
	h, err := newHasher(DefaultPasswordParams, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q", enc)
	}
	if ok, rehash, err := h.verify(context.Background(), enc, "correct horse battery staple"); !ok || rehash || err != nil {
		t.Errorf("verify = %v, %v, %v", ok, rehash, err)
	}
}

func BenchmarkPasswordVerifyDefault(b *testing.B) {
	h, err := newHasher(DefaultPasswordParams, rand.Reader, 1)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := h.hash(context.Background(), "correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := h.verify(context.Background(), enc, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

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
		{"OnlyProxies", "10.0.0.2:80", []string{"10.1.1.1"}, "10.1.1.1"},
		{"IPv6", "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"Mapped", "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, trusted); got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

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
	a, _ := newToken(rand.Reader)
	b, _ := newToken(rand.Reader)
	if !csrfValid(a, csrfToken(a)) {
		t.Error("a session's own token is refused")
	}
	if csrfValid(a, csrfToken(b)) || csrfValid(a, "") || csrfValid("", csrfToken(a)) {
		t.Error("a wrong or empty token is accepted")
	}
	if csrfToken(a) == hashToken(a) || strings.Contains(csrfToken(a), a) {
		t.Error("the CSRF token reveals the session token or its stored hash")
	}
	if !validToken(a) || validToken(a[1:]) || validToken(strings.Repeat("!", len(a))) {
		t.Error("validToken misjudges token shapes")
	}
}
