package amp_test

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

// FuzzParseKey checks the key format's promises: ParseKey never panics and
// accepts only well-formed keys; it accepts every key NewKey makes, with
// its mode; and it rejects every key with one character changed, which is
// what lets the server refuse a mistyped key before any storage lookup.
func FuzzParseKey(f *testing.F) {
	f.Add("amp_sk_live_1234567890abcdef", uint64(1), true, uint16(0), byte('x'))
	f.Add("amp_sk_test_0000000000000000000000000000", uint64(2), false, uint16(12), byte('0'))
	f.Add("", uint64(3), true, uint16(35), byte(0))
	f.Add("amp_sk_live_\xff\xfe", uint64(4), false, uint16(41), byte(0xff))
	f.Add("AMP_SK_LIVE_ABCDEFGHIJKLMNOPQRSTUVWX012345", uint64(5), true, uint16(7), byte('t'))
	f.Fuzz(func(t *testing.T, s string, seed uint64, live bool, pos uint16, repl byte) {
		if mode, err := amp.ParseKey(s); err == nil {
			if len(s) != amp.KeyLen || !strings.HasPrefix(s, "amp_sk_"+string(mode)+"_") {
				t.Fatalf("ParseKey(%q) accepted a malformed key as %s", s, mode)
			}
		}

		mode := amp.ModeTest
		if live {
			mode = amp.ModeLive
		}
		var chachaSeed [32]byte
		binary.LittleEndian.PutUint64(chachaSeed[:], seed)
		key, err := amp.NewKey(rand.NewChaCha8(chachaSeed), mode)
		if err != nil {
			t.Fatal(err)
		}
		got, err := amp.ParseKey(key)
		if err != nil || got != mode {
			t.Fatalf("ParseKey(%q) = %q, %v; want %s", key, got, err, mode)
		}

		b := []byte(key)
		i := int(pos) % len(b)
		if b[i] == repl {
			repl ^= 0x20 // any other byte: flipping one bit keeps it different
		}
		b[i] = repl
		if m, err := amp.ParseKey(string(b)); err == nil {
			t.Fatalf("ParseKey accepted %q (mode %s), which differs from %q at byte %d", b, m, key, i)
		}
	})
}
