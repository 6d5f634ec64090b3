// Package client is the Go client of the AMP API: context-aware calls for
// POST /v1/context, POST /v1/outcome and the /v1/profile routes, with the
// wire types of the root package amp.
//
//	c, err := client.New(os.Getenv("AMP_API_KEY"))
//	if err != nil { … }
//	mc, err := c.GetContext(ctx, amp.ContextRequest{UserID: "user_123", Task: "build a login page"})
//	…
//	err = c.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true)})
//
// # Errors
//
// A non-2xx answer is returned as *Error, which carries the HTTP status, the
// API's error code (amp.CodeRateLimitExceeded …), its message and details,
// and the request id to quote to support. Use errors.As, or ErrorCode.
//
// # Retries
//
// Only answers that say "try again later" are retried: 429 (rate limit or
// quota) and 503, and network errors. Any other 4xx is final: retrying a bad
// request or a bad key cannot succeed. Waits grow exponentially with full
// jitter and honour the server's Retry-After header or details.retryAfter.
// A wait that would outlast the context's deadline is not started; the last
// error is returned instead. An outcome is reported at most once even when
// retried: if an attempt whose answer was lost had in fact stored the
// outcome, the retry's OUTCOME_ALREADY_REPORTED counts as success.
//
// # Webhooks
//
// VerifyWebhook checks a webhook delivery's AMP-Signature header against
// the endpoint's secret, with a tolerance window (five minutes by default),
// and decodes the event. Pass it the raw body, before any JSON decoding.
//
// # Environment
//
// New reads AMP_API_KEY, then AMP_KEY, when given an empty key, as the AMP
// documentation's snippets do. It is the only place in the module, outside
// cmd/amp, that reads the environment.
package client
