// Package httpapi is AMP's HTTP layer: the routes of the public API, their
// handlers, the middleware around them and the one table that maps error
// codes to HTTP statuses.
//
// Handlers hold no business rules. Each one decodes its request strictly,
// calls one method of internal/service and encodes the result; every
// failure, whatever its origin, leaves through writeError as the
// documented envelope
//
//	{"error": {"code", "message", "details"?, "requestId", "timestamp"}}
//
// A request passes through these layers, outermost first:
//
//	requestInfo   assigns the X-Request-Id, resolves the client IP, records the status
//	accessLog     one slog line per request (never the key)
//	recoverPanics a panic becomes a 500 INTERNAL_ERROR envelope
//	dispatch      the ServeMux; unknown routes and wrong methods become envelopes
//	route         names the route pattern for logs and metering
//	authenticate  Bearer key → principal, rate limit, scope, RateLimit-* headers
//	recoverPanics again, so that a panicking handler is metered as a 500
//	handler       decode → one service call → encode
//
// The OpenAPI 3.1 document of the API is embedded (openapi.json) and served
// at GET /v1/openapi.json; its tests check it against the Go wire types and
// the real handlers' responses.
package httpapi
