// Package mcp is AMP's Model Context Protocol front end, on the official Go
// SDK: the tools get_context, report_outcome, get_profile, update_profile
// and delete_profile, the prompt present_task and the resource template
// amp://profiles/{userId}.
//
// The tools are defined once, over a Backend. Handler serves them over
// Streamable HTTP at /mcp of `amp serve`, with a Backend that calls the same
// internal/service methods as the /v1 routes, so that keys, scopes, rate
// limits, quotas, metering and test/live isolation are the API's own. The
// handler is stateless: every POST stands alone, so instances behind a
// round-robin balancer need share nothing but the store. `amp mcp` serves
// the same tools over stdio with a Backend that calls a running server
// through the Go client.
//
// What counts as a request, and the wording of tool errors, are documented
// in docs/agents.md.
package mcp
