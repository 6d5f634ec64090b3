package amp

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// The text rule, one for every front end and every backend: a string the
// API stores or looks up is valid UTF-8 and holds no NUL character.
//
// Why: PostgreSQL cannot store NUL in text or jsonb and refuses invalid
// UTF-8, while SQLite stores any bytes; holding both to the stricter rule
// keeps the backends interchangeable, and turns what would be a driver
// error (a 500) into a 400 the client can act on. In JSON the rule covers
// what escapes decode to: encoding/json silently replaces invalid UTF-8
// and lone surrogate escapes (\ud800) with U+FFFD, which would make two
// different ids collide, and decodes \u0000 to NUL; CheckJSONText refuses
// all of them on the raw bytes, before decoding.

// ErrInvalidInput: a store refused a value that breaks the text rule.
// ErrorCode maps it to INVALID_REQUEST.
var ErrInvalidInput = errors.New("invalid input")

const invalidTextMessage = "Text fields must be valid UTF-8 without NUL characters."

// ValidText reports whether s is valid UTF-8 without NUL characters.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// TextError describes where raw JSON breaks the text rule.
type TextError struct {
	Offset int64  // byte offset of the offending input
	Reason string // what is wrong, for the error message
}

func (e *TextError) Error() string { return e.Reason }

// CheckJSONText checks that raw JSON is valid UTF-8 and that no string in
// it holds an escape decoding to NUL or to half of a surrogate pair. It
// does not check the JSON grammar (the decoder does) but walks strings as
// the grammar defines them, so it never looks inside one for escapes that
// are not there.
func CheckJSONText(raw []byte) *TextError {
	if !utf8.Valid(raw) {
		off := 0
		for off < len(raw) {
			r, n := utf8.DecodeRune(raw[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return &TextError{Offset: int64(off), Reason: "is not valid UTF-8"}
	}
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(raw) {
				return nil // malformed: the decoder reports it
			}
			if raw[i+1] != 'u' {
				i++ // a one-character escape such as \" or \\
				continue
			}
			u, ok := hex4(raw, i+2)
			if !ok {
				return nil // malformed: the decoder reports it
			}
			switch {
			case u == 0:
				return &TextError{Offset: int64(i), Reason: `holds a NUL character (\u0000)`}
			case u >= 0xDC00 && u <= 0xDFFF:
				return &TextError{Offset: int64(i), Reason: "holds a lone low surrogate escape"}
			case u >= 0xD800 && u <= 0xDBFF:
				// A high surrogate must be followed by a low one.
				lo, ok := uint16(0), false
				if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
					lo, ok = hex4(raw, i+8)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return &TextError{Offset: int64(i), Reason: "holds a lone high surrogate escape"}
				}
				i += 11
				continue
			}
			i += 5
		}
	}
	return nil
}

// hex4 reads four hex digits at raw[i:].
func hex4(raw []byte, i int) (uint16, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var u uint16
	for _, c := range raw[i : i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		u = u<<4 | uint16(d)
	}
	return u, true
}
