package totp

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1, truncated to 6 digits: the secret is the
// ASCII "12345678901234567890".
func TestRFC6238Vectors(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := Code(secret, time.Unix(v.unix, 0))
		if err != nil || got != v.code {
			t.Errorf("Code at %d = %q, %v; want %s", v.unix, got, err, v.code)
		}
	}
}

func TestVerify(t *testing.T) {
	k, err := Generate(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "AMP", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.URL, "otpauth://totp/AMP:ada@example.com?") || len(k.Secret) != 32 {
		t.Fatalf("key %+v", k)
	}
	now := time.Date(2026, 3, 14, 12, 0, 10, 0, time.UTC)
	code, err := Code(k.Secret, now)
	if err != nil {
		t.Fatal(err)
	}
	step, err := Verify(k.Secret, code, now)
	if err != nil || step != Step(now) {
		t.Fatalf("Verify = %d, %v; want %d", step, err, Step(now))
	}
	// One step late is accepted and names the code's own step.
	if step, err := Verify(k.Secret, code, now.Add(Period)); err != nil || step != Step(now) {
		t.Errorf("a step late: %d, %v", step, err)
	}
	if _, err := Verify(k.Secret, code, now.Add(3*Period)); err != ErrBadCode {
		t.Errorf("three steps late: %v", err)
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, err := Verify(k.Secret, bad, now); err != ErrBadCode {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
}
