package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// Error is a non-2xx answer of the API.
type Error struct {
	Status    int            // HTTP status
	Code      string         // the API's error code, e.g. "RATE_LIMIT_EXCEEDED"
	Message   string         // human-readable explanation
	Details   map[string]any // code-specific details, e.g. retryAfter
	RequestID string         // quote it when asking for support
	Timestamp time.Time
	// RetryAfter is how long the server asked to wait before retrying, from
	// the Retry-After header or details.retryAfter; 0 when it did not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "amp: %s (HTTP %d): %s", e.Code, e.Status, e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

// retryable reports whether waiting can make the same call succeed: a rate
// limit or an unavailable server, but not a used-up monthly quota.
func (e *Error) retryable() bool {
	switch e.Status {
	case http.StatusTooManyRequests:
		return e.Code != amp.CodeQuotaExceeded
	case http.StatusServiceUnavailable:
		return true
	}
	return false
}

// ErrorCode returns the API error code of err ("" when err is not an
// *Error), so that callers can branch on it:
//
//	if client.ErrorCode(err) == amp.CodeNotFound { … }
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// decodeError turns a non-2xx response into an *Error. A body that is not
// the API's envelope (a proxy's HTML page, say) still yields an *Error, with
// a code derived from the status.
func decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var env amp.ErrorBody
	if err := json.Unmarshal(body, &env); err == nil && env.Error.Code != "" {
		e.Code = env.Error.Code
		e.Message = env.Error.Message
		e.Details = env.Error.Details
		e.Timestamp = env.Error.Timestamp
		if env.Error.RequestID != "" {
			e.RequestID = env.Error.RequestID
		}
	} else {
		e.Code = codeForStatus(resp.StatusCode)
		e.Message = fmt.Sprintf("unexpected HTTP %d answer without an AMP error body", resp.StatusCode)
	}
	e.RetryAfter = retryAfter(resp.Header, e.Details, time.Now())
	return e
}

// codeForStatus names the error of a bare status, as the API would have.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return amp.CodeInvalidRequest
	case http.StatusUnauthorized:
		return amp.CodeUnauthorized
	case http.StatusForbidden:
		return amp.CodeForbidden
	case http.StatusNotFound:
		return amp.CodeNotFound
	case http.StatusMethodNotAllowed:
		return amp.CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return amp.CodePayloadTooLarge
	case http.StatusTooManyRequests:
		return amp.CodeRateLimitExceeded
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return amp.CodeServiceUnavailable
	}
	return amp.CodeInternal
}
