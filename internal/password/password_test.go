package password_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/amp-protocol/amp/internal/password"
)

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h, err := password.New(cheap, rand.Reader, 2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q lacks the PHC prefix of its parameters", enc)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery staple")
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
		ok, rehash, err := h.Verify(ctx, enc, tc.pw)
		if err != nil || ok != tc.want || rehash {
			t.Errorf("verify(%q) = %v, %v, %v; want %v, false, nil", tc.pw, ok, rehash, err, tc.want)
		}
	}
	// A hash made with other parameters still verifies, and asks for a
	// rehash.
	stronger := cheap
	stronger.Memory, stronger.Time = 128, 2
	h2, err := password.New(stronger, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := h2.Verify(ctx, enc, "correct horse battery staple")
	if !ok || !rehash || err != nil {
		t.Errorf("verify with new parameters = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestPasswordHashMalformed(t *testing.T) {
	h, err := password.New(cheap, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := h.Hash(context.Background(), "pw")
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
			if ok, _, err := h.Verify(context.Background(), enc, "pw"); ok || err == nil {
				t.Errorf("verify(%q) = %v, %v; want false and an error", enc, ok, err)
			}
		})
	}
}

func TestPasswordParamsValidated(t *testing.T) {
	for _, p := range []password.Params{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := password.New(p, rand.Reader, 1); err == nil {
			t.Errorf("password.New(%+v) accepted invalid parameters", p)
		}
	}
}

// The unknown-email path of sign-in runs one argon2id verification, as the
// wrong-password path does, so that their timing cannot tell them apart.
func TestUnknownEmailCostsAVerification(t *testing.T) {
	h, err := password.New(cheap, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := h.Verifications()
	if err := h.Burn(context.Background(), "whatever"); err != nil {
		t.Fatal(err)
	}
	if got := h.Verifications() - before; got != 1 {
		t.Errorf("burn ran %d verifications, want 1", got)
	}
}

// The default parameters are usable and are what a new hash records.
func TestDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("hashing with the default parameters takes 19 MiB and tens of milliseconds")
	}
	h, err := password.New(password.DefaultParams, rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q", enc)
	}
	if ok, rehash, err := h.Verify(context.Background(), enc, "correct horse battery staple"); !ok || rehash || err != nil {
		t.Errorf("verify = %v, %v, %v", ok, rehash, err)
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h, err := password.New(password.DefaultParams, rand.Reader, 1)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := h.Hash(context.Background(), "correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := h.Verify(context.Background(), enc, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
