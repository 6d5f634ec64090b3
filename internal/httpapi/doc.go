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
// The Server is also the one middleware chain of everything `amp serve`
// answers: other front ends are mounted behind it (Mount: the dashboard
// under /dashboard, MCP when it lands; Handle: GET /metrics, the "/"
// redirect), so that every response carries X-Request-Id, every request
// gets one access-log line and one metrics observation by route pattern,
// and a panic is recovered once. A request passes through these layers,
// outermost first:
//
//	requestInfo   assigns the X-Request-Id, resolves the client IP (httpx.ClientIP), records the status
//	accessLog     one slog line and one metrics observation per request (never the key)
//	recoverPanics a panic becomes a 500: the envelope, or the mounted front end's error page
//	dispatch      a mounted front end, an exact route, or the API's ServeMux; unknown
//	              routes, odd paths and wrong methods become envelopes, never redirects
//	route         names the route pattern for logs, metrics and metering
//	authenticate  Bearer key → principal, rate limit, scope, RateLimit-* headers
//	handler       decode → one service call → encode
//
// The error code → HTTP status table is httpx's, shared with the dashboard.
//
// The OpenAPI 3.1 document of the API is embedded (openapi.json) and served
// at GET /v1/openapi.json; its tests check it against the Go wire types and
// the real handlers' responses.
package httpapi
