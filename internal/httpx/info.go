package httpx

import (
	"context"
	"net/http"
	"time"
)

// Info is what the layers of one request tell each other. The outermost
// middleware creates it; inner layers fill it in on the way in; the access
// log and the metrics read it on the way out. Only the request's goroutine
// touches it.
type Info struct {
	ID       string    // the request id, sent back as X-Request-Id
	ClientIP string    // resolved once, by ClientIP
	Start    time.Time // when the chain received the request
	// Route is the matched route pattern ("GET /dashboard/test/keys"); ""
	// when none matched. It labels metrics, so it never holds user input.
	Route string
	// Quiet marks a probe or a scrape, logged at debug level.
	Quiet bool
	// Status is the status written; 0 until the response begins.
	Status int
	// Code is the error code of an error response.
	Code string

	// Who acted, for the access log: an API key, or a dashboard user of
	// an account. Empty when nobody was identified.
	AccountID string
	KeyID     string
	UserID    string
	Mode      string

	// ErrorPage answers for the front end that took the request when the
	// chain must answer for it (a recovered panic); nil for the API's JSON
	// envelope.
	ErrorPage ErrorPage
}

// ErrorPage is implemented by a front end that answers errors in its own
// format, such as the dashboard's HTML pages.
type ErrorPage interface {
	// ServeError writes the front end's answer for status.
	ServeError(w http.ResponseWriter, r *http.Request, status int)
}

type infoKey struct{}

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// FromContext returns the request's Info. Outside the middleware chain (a
// handler served on its own, as some tests do) it returns a blank Info
// rather than nil, so that callers need no check.
func FromContext(ctx context.Context) *Info {
	if info, ok := ctx.Value(infoKey{}).(*Info); ok {
		return info
	}
	return &Info{}
}

// SetRoute records the matched route pattern of r, for the access log and
// the metrics.
func SetRoute(r *http.Request, pattern string) { FromContext(r.Context()).Route = pattern }

// RequestClientIP returns the client IP the chain resolved for r, or, for
// a handler served outside the chain, the peer's address (no proxy is
// trusted then).
func RequestClientIP(r *http.Request) string {
	if ip := FromContext(r.Context()).ClientIP; ip != "" {
		return ip
	}
	return ClientIP(r, nil)
}

// StatusWriter records the status of the response in the request's Info.
type StatusWriter struct {
	http.ResponseWriter
	Info *Info
}

// WriteHeader records the first final status and writes it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Info.Status == 0 && code >= 200 {
		w.Info.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and writes p.
func (w *StatusWriter) Write(p []byte) (int, error) {
	if w.Info.Status == 0 {
		w.Info.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
