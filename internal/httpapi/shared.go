package httpapi

import "net/http"

// The helpers below let other HTTP front ends of the binary (the MCP
// endpoint) read credentials exactly as the API does.

// BearerToken extracts the key from an Authorization header: "" when the
// header is absent or empty, UNAUTHORIZED when it is not a Bearer token.
func BearerToken(header string) (string, error) { return bearerToken(header) }

// DecodeJSON decodes body, one JSON object, into dst by the API's rules:
// exact-case field names, no field given twice, unknown fields ignored,
// type errors named; every refusal is INVALID_REQUEST.
func DecodeJSON(body []byte, dst any) error { return decodeJSON(body, dst) }

// BearerChallenge is the WWW-Authenticate value of a 401 answer to r:
// error="invalid_token" when r sent credentials (RFC 6750 §3.1).
func BearerChallenge(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return `Bearer realm="amp", error="invalid_token"`
	}
	return `Bearer realm="amp"`
}
