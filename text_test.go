package amp

import (
	"encoding/json"
	"testing"
)

func TestValidText(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "plain": true, "ünïcødé ✓": true, "tab\tand\nnewline": true,
		"nul\x00inside": false, "\xff": false, "bad\xc3": false, "\xed\xa0\x80": false, // an encoded surrogate
	} {
		if got := ValidText(s); got != want {
			t.Errorf("ValidText(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCheckJSONText(t *testing.T) {
	good := []string{
		`{}`, `{"a":"plain"}`, `{"a":"\u00e9\n\"\\"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\\u0000"}`, // an escaped backslash, then text
		`{"u0000":1}`, `{"a":["\u0001",{"b":"\uFFFD"}]}`, `"\u00"`, // malformed: left to the decoder
	}
	for _, s := range good {
		if err := CheckJSONText([]byte(s)); err != nil {
			t.Errorf("CheckJSONText(%s) = %v, want nil", s, err)
		}
	}
	bad := map[string]int64{
		`{"a":"\u0000"}`:                6,
		`{"a":"x\u0000"}`:               7,
		`{"\u0000":1}`:                  2,
		`{"a":"\ud800"}`:                6,
		`{"a":"\ud800\u0041"}`:          6,
		`{"a":"\udc00"}`:                6,
		`{"a":"\ud800x"}`:               6,
		"{\"a\":\"\xff\"}":              6,
		"{\"a\":\"ok\",\"b\":\"\xc3\"}": 15,
	}
	for s, off := range bad {
		err := CheckJSONText([]byte(s))
		if err == nil {
			t.Errorf("CheckJSONText(%q) = nil, want an error", s)
			continue
		}
		if err.Offset != off {
			t.Errorf("CheckJSONText(%q) offset %d, want %d", s, err.Offset, off)
		}
	}
	// What the check lets through decodes without replacement characters
	// it did not contain.
	var v map[string]string
	if err := json.Unmarshal([]byte(`{"a":"\ud83d\ude00"}`), &v); err != nil || v["a"] != "😀" {
		t.Fatalf("decoded %q, %v", v["a"], err)
	}
}

func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{`{"a":"\u0000"}`, `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, "\"\xff\"", `{"a":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if CheckJSONText(raw) != nil {
			return
		}
		// Whatever passes and decodes holds only text that obeys the rule
		// and that was in the input: no NUL and no U+FFFD made up by the
		// decoder.
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		walkStrings(v, func(s string) {
			if !ValidText(s) {
				t.Fatalf("%q decoded to %q", raw, s)
			}
		})
		reencoded, _ := json.Marshal(v)
		if n1, n2 := countFFFD(raw), countFFFD(reencoded); n2 > n1 {
			t.Fatalf("%q: decoding made up %d replacement characters", raw, n2-n1)
		}
	})
}

func walkStrings(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case []any:
		for _, e := range v {
			walkStrings(e, fn)
		}
	case map[string]any:
		for k, e := range v {
			fn(k)
			walkStrings(e, fn)
		}
	}
}

// countFFFD counts U+FFFD, raw or escaped.
func countFFFD(b []byte) int {
	n := 0
	for _, r := range string(b) {
		if r == '\uFFFD' {
			n++
		}
	}
	for i := 0; i+6 <= len(b); i++ {
		if b[i] == '\\' && b[i+1] == 'u' && (string(b[i+2:i+6]) == "fffd" || string(b[i+2:i+6]) == "FFFD") {
			n++
		}
	}
	return n
}
