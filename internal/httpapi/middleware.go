package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/service"
)

// reqState is the API's own part of a request's state: the httpx.Info
// every front end shares, and the principal authenticate resolves. One
// allocation holds both, made by requestInfo.
type reqState struct {
	info      httpx.Info
	principal *service.Principal
}

type stateKey struct{}

// principalFrom returns the principal authenticate resolved for the request.
func principalFrom(ctx context.Context) *service.Principal {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st.principal
	}
	return nil
}

// requestInfo gives every request its id, sent back as X-Request-Id on
// every response of every front end (errors, 404s, 405s and dashboard pages
// included), and resolves the client IP once, by the one trusted-proxy
// rule.
func (s *Server) requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{info: httpx.Info{ID: s.svc.NewRequestID(), ClientIP: httpx.ClientIP(r, s.trusted), Start: s.now()}}
		info := &st.info
		w.Header()["X-Request-Id"] = []string{info.ID} // canonical already: spares Header.Set's work
		ctx := context.WithValue(httpx.WithInfo(r.Context(), info), stateKey{}, st)
		next.ServeHTTP(&httpx.StatusWriter{ResponseWriter: w, Info: info}, r.WithContext(ctx))
	})
}

// accessLog writes one line per request and records it in the metrics. It
// never logs the Authorization header, the key or a cookie: the key is
// identified by its id, the dashboard user by theirs. Nor does it log the
// path of a matched route, which may hold a userId; the pattern suffices.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		ctx := r.Context()
		info := httpx.FromContext(ctx)
		status := info.Status
		if status == 0 {
			status = http.StatusOK // net/http sends 200 for an empty response
		}
		duration := max(s.now().Sub(info.Start), 0)
		if s.metrics != nil {
			s.metrics.Observe(info.Route, status, duration)
		}
		level := slog.LevelInfo
		if info.Quiet && status < 500 {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", info.ID),
			slog.String("method", r.Method),
			slog.String("route", info.Route),
			slog.Int("status", status),
			slog.Duration("duration", duration),
			slog.String("client_ip", info.ClientIP),
		}
		if info.Route == "" {
			attrs = append(attrs, slog.String("path", truncate(redactPath(r.URL.Path), 200)))
		}
		for _, a := range [...]struct{ k, v string }{
			{"account_id", info.AccountID}, {"key_id", info.KeyID}, {"user_id", info.UserID}, {"mode", info.Mode},
		} {
			if a.v != "" {
				attrs = append(attrs, slog.String(a.k, a.v))
			}
		}
		if info.Code != "" {
			attrs = append(attrs, slog.String("code", info.Code))
		}
		s.log.LogAttrs(ctx, level, "request", attrs...)
	})
}

// redactPath hides every segment of an unmatched path that may hold a key:
// a client that pastes its key into the URL must not find it in the logs.
func redactPath(p string) string {
	if !strings.Contains(strings.ToLower(p), "sk_") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if strings.Contains(strings.ToLower(seg), "sk_") {
			segs[i] = "[redacted]"
		}
	}
	return strings.Join(segs, "/")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// recoverPanics is the one panic recovery of every front end: a panic is
// logged with the request id and the stack, and answered as a 500 in the
// format of the front end that took the request (its httpx.ErrorPage, else
// the INTERNAL_ERROR envelope). The client sees nothing of it.
// http.ErrAbortHandler is net/http's way to abort a response and passes
// through.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			info := httpx.FromContext(r.Context())
			if info.ErrorPage == nil {
				s.writeError(w, r, err)
				return
			}
			info.Code = amp.CodeInternal
			s.log.ErrorContext(r.Context(), "internal error", "request_id", info.ID, "route", info.Route, "err", err)
			if info.Status == 0 {
				info.ErrorPage.ServeError(w, r, http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// route records the matched route pattern, for the access log and the
// request event.
func (s *Server) route(pattern string, next http.Handler) http.Handler {
	quiet := !strings.Contains(pattern, " /v1/") // the health probes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := httpx.FromContext(r.Context())
		info.Route, info.Quiet = pattern, quiet
		next.ServeHTTP(w, r)
	})
}

// authenticate guards a /v1 route. It resolves the Bearer key, admits the
// request under the account's rate limit and quota, and checks the route's
// scope; the RateLimit-* headers go on every response of an admitted
// request. Admission precedes the scope check so that a key hammering a
// route it may not use is rate-limited too, and so that the 403 carries the
// headers like every other authenticated response. After the handler, the
// request is reported to the service for the quota and metering.
func (s *Server) authenticate(scope amp.Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		info := httpx.FromContext(ctx)
		secret, err := bearerToken(r.Header.Get("Authorization"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := s.svc.Authenticate(ctx, secret, info.ClientIP)
		if err != nil {
			if s.metrics != nil && amp.ErrorCode(err) == amp.CodeRateLimitExceeded {
				s.metrics.Limited(metrics.ReasonAuth)
			}
			s.writeError(w, r, err)
			s.refused(ctx, nil, err, info)
			return
		}
		info.AccountID, info.KeyID, info.Mode = p.Key.AccountID, p.Key.ID, string(p.Key.Mode)
		if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
			st.principal = p
		}
		state, err := s.svc.Admit(ctx, p)
		setRateHeaders(w.Header(), state)
		if err != nil {
			s.writeError(w, r, err)
			s.refused(ctx, p, err, info)
			return
		}
		// Finish runs even when the handler panics, so that an admitted
		// request always releases what it reserved of the quota.
		defer func() {
			status := info.Status
			if v := recover(); v != nil {
				s.finish(ctx, p, info, http.StatusInternalServerError)
				panic(v)
			}
			if status == 0 {
				status = http.StatusOK
			}
			s.finish(ctx, p, info, status)
		}()
		if err := s.svc.Authorize(p, scope); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// finish reports an admitted request to the service for the quota and
// metering. The client may be gone, but what it cost must still be counted.
func (s *Server) finish(ctx context.Context, p *service.Principal, info *httpx.Info, status int) {
	now := s.now()
	s.svc.Finish(context.WithoutCancel(ctx), p, amp.RequestEvent{
		KeyID:     p.Key.ID,
		AccountID: p.Key.AccountID,
		Mode:      p.Key.Mode,
		Route:     info.Route,
		Status:    status,
		ClientIP:  info.ClientIP,
		Duration:  max(now.Sub(info.Start), 0),
		At:        now.UTC(),
		RequestID: info.ID,
		Code:      info.Code,
	})
}

// refused reports a request refused at the door, by Authenticate (p nil)
// or by Admit, for metering, with the status writeError gave it; the
// service decides whether and as what it counts.
func (s *Server) refused(ctx context.Context, p *service.Principal, err error, info *httpx.Info) {
	now := s.now()
	s.svc.Refused(context.WithoutCancel(ctx), p, err, amp.RequestEvent{
		Route:    info.Route,
		Status:   HTTPStatus(amp.ErrorCode(err)),
		ClientIP: info.ClientIP,
		Duration: max(now.Sub(info.Start), 0),
		At:       now.UTC(),
	})
}

// bearerToken extracts the key from an Authorization header. The scheme is
// case-insensitive (RFC 9110 §11.1). An absent header or an empty token
// yields "", which the service answers as a missing key.
func bearerToken(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", nil
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", amp.Errorf(amp.CodeUnauthorized, "Malformed Authorization header. Send the key as 'Authorization: Bearer <key>'.")
	}
	return strings.TrimSpace(token), nil
}

// setRateHeaders reports a rate state in the RateLimit-* headers and their
// older X-RateLimit-* spellings. Without a limiter the state is empty and
// no header is set: a limit of 0 would read as "no requests allowed".
func setRateHeaders(h http.Header, st amp.RateState) {
	if st.Limit <= 0 {
		return
	}
	// Set by canonical key, each value a one-element slice of one array
	// that both names share (Header.Add copies before it appends): every
	// answer carries these six, and Header.Set's canonicalising and
	// allocating were a measurable share of a small response's cost.
	v := [...]string{strconv.Itoa(st.Limit), strconv.Itoa(max(st.Remaining, 0)), strconv.FormatInt(ceilSeconds(st.Reset), 10)}
	vals := v[:]
	h[hdrRateLimitLimit], h[hdrXRateLimitLimit] = vals[0:1:1], vals[0:1:1]
	h[hdrRateLimitRemaining], h[hdrXRateLimitRemaining] = vals[1:2:2], vals[1:2:2]
	h[hdrRateLimitReset], h[hdrXRateLimitReset] = vals[2:3:3], vals[2:3:3]
}

// The canonical forms (http.CanonicalHeaderKey) of the rate headers' names.
var (
	hdrRateLimitLimit      = http.CanonicalHeaderKey("RateLimit-Limit")
	hdrRateLimitRemaining  = http.CanonicalHeaderKey("RateLimit-Remaining")
	hdrRateLimitReset      = http.CanonicalHeaderKey("RateLimit-Reset")
	hdrXRateLimitLimit     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	hdrXRateLimitRemaining = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	hdrXRateLimitReset     = http.CanonicalHeaderKey("X-RateLimit-Reset")
)

// ceilSeconds rounds d up to whole seconds; a negative d counts as 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
