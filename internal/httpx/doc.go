// Package httpx holds the HTTP helpers every front end of `amp serve`
// shares: the per-request record the one middleware chain keeps (request
// id, client IP, matched route, status, who is acting), the trusted-proxy
// rule that attributes a request to a client IP, the one table from error
// code to HTTP status, the canonical form of a URL path, and the scan of a
// JSON body's members that the API's and /mcp's quick decoders share.
//
// It holds no routes and no business rules. internal/httpapi builds the
// middleware chain on it and mounts the other front ends (the dashboard,
// /metrics) behind that chain; the front ends read and annotate the
// request's Info through this package, so that a rule such as "which
// address is the client" exists once.
package httpx
