package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/service"
)

// reqInfo is what the layers of one request tell each other. The outermost
// middleware creates it; inner layers fill it in on the way in; the access
// log reads it on the way out. Only the request's goroutine touches it.
type reqInfo struct {
	id        string
	clientIP  string
	start     time.Time
	route     string // the matched route pattern; "" when none matched
	quiet     bool   // a health probe: logged at debug level
	principal *service.Principal
	status    int    // the status written; 0 until the response begins
	code      string // the error code of an error response
}

type infoKey struct{}

// infoFrom returns the request's info. Outside the middleware (which does
// not happen in a Server) it returns a blank one rather than nil.
func infoFrom(ctx context.Context) *reqInfo {
	if info, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return info
	}
	return &reqInfo{}
}

// statusWriter records the status of the response in the request's info.
type statusWriter struct {
	http.ResponseWriter
	info *reqInfo
}

func (w *statusWriter) WriteHeader(code int) {
	if w.info.status == 0 && code >= 200 {
		w.info.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.info.status == 0 {
		w.info.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestInfo gives every request its id, sent back as X-Request-Id on
// every response (errors, 404s and 405s included), and resolves the client
// IP once.
func (s *Server) requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqInfo{id: s.svc.NewRequestID(), clientIP: s.clientIP(r), start: s.now()}
		w.Header().Set("X-Request-Id", info.id)
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		next.ServeHTTP(&statusWriter{ResponseWriter: w, info: info}, r.WithContext(ctx))
	})
}

// accessLog writes one line per request. It never logs the Authorization
// header or the key: the key is identified by its id. Nor does it log the
// path of a matched route, which may hold a userId; the pattern suffices.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		ctx := r.Context()
		info := infoFrom(ctx)
		status := info.status
		if status == 0 {
			status = http.StatusOK // net/http sends 200 for an empty response
		}
		duration := max(s.now().Sub(info.start), 0)
		if s.metrics != nil {
			s.metrics.Observe(info.route, status, duration)
		}
		level := slog.LevelInfo
		if info.quiet && status < 500 {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", info.id),
			slog.String("method", r.Method),
			slog.String("route", info.route),
			slog.Int("status", status),
			slog.Duration("duration", duration),
			slog.String("client_ip", info.clientIP),
		}
		if info.route == "" {
			attrs = append(attrs, slog.String("path", truncate(redactPath(r.URL.Path), 200)))
		}
		if p := info.principal; p != nil {
			attrs = append(attrs,
				slog.String("account_id", p.Key.AccountID),
				slog.String("key_id", p.Key.ID),
				slog.String("mode", string(p.Key.Mode)))
		}
		if info.code != "" {
			attrs = append(attrs, slog.String("code", info.code))
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

// recoverPanics turns a panic into a 500 INTERNAL_ERROR envelope, logged
// with the request id and the stack. The client sees nothing of it.
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
			s.writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}()
		next.ServeHTTP(w, r)
	})
}

// route records the matched route pattern, for the access log and the
// request event.
func (s *Server) route(pattern string, next http.Handler) http.Handler {
	quiet := !strings.Contains(pattern, " /v1/") // the health probes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		info.route, info.quiet = pattern, quiet
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
		info := infoFrom(ctx)
		secret, err := bearerToken(r.Header.Get("Authorization"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := s.svc.Authenticate(ctx, secret, info.clientIP)
		if err != nil {
			if s.metrics != nil && amp.ErrorCode(err) == amp.CodeRateLimitExceeded {
				s.metrics.Limited(metrics.ReasonAuth)
			}
			s.writeError(w, r, err)
			if kf, ok := errors.AsType[*service.KeyFailure](err); ok {
				s.refused(ctx, kf.Principal, info, amp.AdmissionAuthFailed)
			}
			return
		}
		info.principal = p
		state, err := s.svc.Admit(ctx, p)
		setRateHeaders(w.Header(), state)
		if err != nil {
			s.writeError(w, r, err)
			switch amp.ErrorCode(err) {
			case amp.CodeRateLimitExceeded:
				s.refused(ctx, p, info, amp.AdmissionRateLimited)
			case amp.CodeQuotaExceeded:
				s.refused(ctx, p, info, amp.AdmissionQuotaExceeded)
			}
			return
		}
		// Finish runs even when the handler panics, so that an admitted
		// request always releases what it reserved of the quota.
		defer func() {
			status := info.status
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
func (s *Server) finish(ctx context.Context, p *service.Principal, info *reqInfo, status int) {
	now := s.now()
	s.svc.Finish(context.WithoutCancel(ctx), p, amp.RequestEvent{
		KeyID:     p.Key.ID,
		AccountID: p.Key.AccountID,
		Mode:      p.Key.Mode,
		Route:     info.route,
		Status:    status,
		ClientIP:  info.clientIP,
		Duration:  max(now.Sub(info.start), 0),
		At:        now.UTC(),
	})
}

// refused meters a request of p's key refused at the door, with the status
// writeError gave it.
func (s *Server) refused(ctx context.Context, p *service.Principal, info *reqInfo, admission amp.Admission) {
	now := s.now()
	s.svc.Refused(context.WithoutCancel(ctx), p, amp.RequestEvent{
		KeyID:     p.Key.ID,
		AccountID: p.Key.AccountID,
		Mode:      p.Key.Mode,
		Route:     info.route,
		Status:    HTTPStatus(info.code),
		ClientIP:  info.clientIP,
		Duration:  max(now.Sub(info.start), 0),
		At:        now.UTC(),
		Admission: admission,
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
	limit := strconv.Itoa(st.Limit)
	remaining := strconv.Itoa(max(st.Remaining, 0))
	reset := strconv.FormatInt(ceilSeconds(st.Reset), 10)
	h.Set("RateLimit-Limit", limit)
	h.Set("RateLimit-Remaining", remaining)
	h.Set("RateLimit-Reset", reset)
	h.Set("X-RateLimit-Limit", limit)
	h.Set("X-RateLimit-Remaining", remaining)
	h.Set("X-RateLimit-Reset", reset)
}

// ceilSeconds rounds d up to whole seconds; a negative d counts as 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
