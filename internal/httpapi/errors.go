package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
)

// HTTPStatus returns the HTTP status of an error code, and 500 for a code
// the API does not define. The table is httpx's, shared with the dashboard.
func HTTPStatus(code string) int { return httpx.Status(code) }

// Codes returns every error code the API answers with, sorted.
func Codes() []string { return httpx.Codes() }

// internalMessage is all a client learns about an internal error; the
// cause is logged under the request id.
const internalMessage = "An internal error occurred. Please retry; if it persists, contact support with the requestId."

// handlerFunc is a handler that returns its failure instead of writing it,
// so that every error leaves through writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) errorHandler(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError writes err as the error envelope with the status of its code.
// Internal errors show a generic message and are logged with their cause;
// an error caused by the client hanging up is not.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	info := httpx.FromContext(ctx)
	code := amp.ErrorCode(err)
	if !httpx.KnownCode(code) {
		code = amp.CodeInternal
	}
	msg, details := amp.ErrorMessage(err), amp.ErrorDetails(err)

	switch code {
	case amp.CodeInternal:
		msg, details = internalMessage, nil
		s.log.ErrorContext(ctx, "internal error", "request_id", info.ID, "route", info.Route, "err", err)
	case amp.CodeServiceUnavailable:
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			s.log.InfoContext(ctx, "client cancelled the request", "request_id", info.ID, "route", info.Route)
		} else {
			s.log.WarnContext(ctx, "service unavailable", "request_id", info.ID, "route", info.Route, "err", err)
		}
	}
	info.Code = code
	if info.Status != 0 {
		// The response has begun: the error can only be logged.
		s.log.ErrorContext(ctx, "error after the response began", "request_id", info.ID, "code", code, "err", err)
		return
	}
	if code == amp.CodeRateLimitExceeded || code == amp.CodeServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(details)))
	}
	if HTTPStatus(code) == http.StatusUnauthorized {
		// RFC 9110 §15.5.2: a 401 names the scheme that would succeed.
		w.Header().Set("WWW-Authenticate", BearerChallenge(r))
	}
	body := amp.ErrorBody{Error: amp.ErrorDetail{
		Code:      code,
		Message:   msg,
		Details:   details,
		RequestID: info.ID,
		Timestamp: s.now().UTC().Truncate(time.Millisecond),
	}}
	if err := writeJSON(w, HTTPStatus(code), body); err != nil {
		// Only a details value that JSON cannot encode gets here.
		s.log.ErrorContext(ctx, "encoding an error response failed", "request_id", info.ID, "code", code, "err", err)
		body.Error.Details = nil
		_ = writeJSON(w, HTTPStatus(code), body)
	}
}

// retryAfterSeconds is the Retry-After of a refused request: the error's
// details.retryAfter rounded up to whole seconds, and at least 1, so that a
// client never retries in a tight loop.
func retryAfterSeconds(details map[string]any) int {
	var secs float64
	switch v := details["retryAfter"].(type) {
	case int:
		secs = float64(v)
	case int64:
		secs = float64(v)
	case float64:
		secs = v
	case json.Number:
		secs, _ = v.Float64()
	}
	if math.IsNaN(secs) || secs < 1 {
		return 1
	}
	if secs > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(math.Ceil(secs))
}

// The constant header values of writeJSON's responses.
var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
	noSniff         = []string{"nosniff"}
)

// writeJSON writes v as a JSON response with status. It encodes v before
// writing anything, so that an encoding failure can still become an error
// response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	// Set by key, already canonical, with the constant values shared
	// (net/http only reads them, and Header.Add copies before it appends
	// to a full slice): Header.Set's canonicalising and allocating were a
	// measurable share of a small response's cost.
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(status)
	// A failed write means the client is gone; there is no one to tell.
	_, _ = w.Write(buf.Bytes())
	return nil
}
