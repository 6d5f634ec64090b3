package amp_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// TestTimeOrderedID checks what the stores rely on: ids sort as their
// times do, down to the millisecond, and ids of one millisecond differ.
func TestTimeOrderedID(t *testing.T) {
	base := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	var prev string
	for i, at := range []time.Time{
		time.Unix(0, 0), base, base.Add(time.Millisecond), base.Add(time.Second),
		base.Add(24 * time.Hour), base.AddDate(100, 0, 0),
	} {
		id, err := amp.TimeOrderedID(rand.Reader, "req_", at, 24)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != len("req_")+24 || !strings.HasPrefix(id, "req_") {
			t.Fatalf("id %q: want req_ and 24 characters", id)
		}
		for _, c := range []byte(id[len("req_"):]) {
			if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
				t.Fatalf("id %q has a non-base62 character %q", id, c)
			}
		}
		if i > 0 && id <= prev {
			t.Errorf("id %q for %s does not sort after %q, made for an earlier time", id, at, prev)
		}
		prev = id
	}

	a, _ := amp.TimeOrderedID(rand.Reader, "req_", base, 24)
	b, _ := amp.TimeOrderedID(rand.Reader, "req_", base, 24)
	if a == b || a[:12] != b[:12] {
		t.Errorf("two ids of one millisecond: %q, %q; want the same 8-digit time and different random parts", a, b)
	}

	// A broken random source is reported, not hidden.
	if _, err := amp.TimeOrderedID(bytes.NewReader(nil), "req_", base, 24); err == nil {
		t.Error("TimeOrderedID with an empty random source: no error")
	}
}

func TestKeyPattern(t *testing.T) {
	for _, mode := range []amp.Mode{amp.ModeTest, amp.ModeLive} {
		k, err := amp.NewKey(rand.Reader, mode)
		if err != nil {
			t.Fatal(err)
		}
		text := "config:\n  AMP_API_KEY=" + k + "\n"
		if got := amp.KeyPattern.FindString(text); got != k {
			t.Fatalf("KeyPattern found %q in %q", got, text)
		}
		if amp.KeyPattern.MatchString("x"+k) || amp.KeyPattern.MatchString(k+"x") {
			t.Fatal("KeyPattern matched a key glued to other word characters")
		}
	}
	if amp.KeyPattern.MatchString("amp_sk_prod_" + strings.Repeat("a", 30)) {
		t.Fatal("KeyPattern matched an unknown mode")
	}
}
