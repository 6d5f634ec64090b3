package httpx

import "bytes"

// JSONMembers calls member with the name (the bytes between its quotes)
// and the raw value of each member of the JSON object body, in order,
// until member returns false. It reports whether body is one object with
// nothing but space after it, whose names have no escapes, and whose
// members member all accepted.
//
// It finds members; it does not validate (the decoder that follows does),
// so the front ends use it to pick a quick decoding for plain bodies, and
// a wrong "true" costs nothing but the slow path.
func JSONMembers(body []byte, member func(name, value []byte) bool) bool {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	if i = skipSpace(body, i+1); i < len(body) && body[i] == '}' {
		return skipSpace(body, i+1) == len(body)
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return false
		}
		end := stringEnd(body, i)
		if end < 0 {
			return false
		}
		name := body[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			return false
		}
		if i = skipSpace(body, end); i >= len(body) || body[i] != ':' {
			return false
		}
		start := skipSpace(body, i+1)
		if end = valueEnd(body, start); end < 0 || !member(name, body[start:end]) {
			return false
		}
		switch i = skipSpace(body, end); {
		case i >= len(body):
			return false
		case body[i] == '}':
			return skipSpace(body, i+1) == len(body)
		case body[i] == ',':
			i = skipSpace(body, i+1)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i], a
// quote, or -1 if it does not end.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the value starting at b[i], or -1
// if it does not end: a string, an object or array (its nesting
// followed), or anything else up to the next delimiter.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
