package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpapi"
	"github.com/amp-protocol/amp/internal/service"
)

// HandlerConfig configures a Handler. The zero value is usable.
type HandlerConfig struct {
	// Logger receives the causes of internal errors; nothing when nil.
	Logger *slog.Logger
	// Now is the clock of durations and error timestamps; time.Now when nil.
	Now func() time.Time
	// ClientIP resolves the client's address, for the failed-key limit and
	// metering; the peer's address when nil.
	ClientIP func(*http.Request) string
	// Version is the server version reported to MCP clients.
	Version string
}

// Handler serves the MCP tools over Streamable HTTP, statelessly: each POST
// is authenticated with its Bearer key and carries its own messages, and no
// session outlives it.
type Handler struct {
	svc      *service.Service
	log      *slog.Logger
	now      func() time.Time
	clientIP func(*http.Request) string
	sdk      http.Handler
	// tools and maxBody serve the fast path (fastpath.go); tools is nil
	// when it is off.
	tools   map[string]toolFunc
	maxBody int64
}

// NewHandler returns the /mcp handler over svc.
func NewHandler(svc *service.Service, cfg HandlerConfig) *Handler {
	h := &Handler{svc: svc, log: cfg.Logger, now: cfg.Now, clientIP: cfg.ClientIP}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.clientIP == nil {
		h.clientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	server, tools := newServer(&serviceBackend{h: h}, cfg.Version)
	h.tools, h.maxBody = tools, 2*amp.MaxBodyBytes // the API's body, plus the JSON-RPC envelope
	// The fast path (fastpath.go) answers as the SDK does with these
	// options and no others: change them together.
	h.sdk = gomcp.NewStreamableHTTPHandler(func(*http.Request) *gomcp.Server { return server }, &gomcp.StreamableHTTPOptions{
		Stateless:    true,
		JSONResponse: true,
		// The SDK's DNS-rebinding guard refuses loopback connections whose
		// Host is not loopback, which is every request behind a reverse
		// proxy on the same machine. It protects servers that trust the
		// network; this one trusts only the Bearer key, which a rebound
		// page does not have.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        h.maxBody,
		Logger:                     cfg.Logger,
	})
	return h
}

// caller is the authenticated key of one /mcp POST.
type caller struct {
	p        *service.Principal
	clientIP string
}

type callerKey struct{}

// ServeHTTP authenticates the request like the /v1 routes do, then answers
// it on the fast path if it is a plain tools/call (fastpath.go), or hands it
// to the SDK. Protocol messages (initialize, tools/list …) need only a valid
// key; each tool call, prompt or resource read is then admitted, authorised
// and metered as one API request (see serviceBackend).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ip := h.clientIP(r)
	start := h.now()
	secret, err := httpapi.BearerToken(r.Header.Get("Authorization"))
	var p *service.Principal
	if err == nil {
		p, err = h.svc.Authenticate(ctx, secret, ip)
	}
	if err != nil {
		h.writeError(w, r, err)
		h.refused(ctx, nil, err, RouteMCP, ip, start)
		return
	}
	r = r.WithContext(context.WithValue(ctx, callerKey{}, &caller{p: p, clientIP: ip}))
	if h.tools != nil && h.serveFast(w, r) {
		return
	}
	h.sdk.ServeHTTP(w, r)
}

// writeError answers a refused /mcp request with the API's error envelope
// and status. A 401 carries WWW-Authenticate, as RFC 9110 and the MCP
// authorization rules ask.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := amp.ErrorCode(err)
	status := httpapi.HTTPStatus(code)
	id := h.svc.NewRequestID()
	hdr := w.Header()
	hdr.Set("X-Request-Id", id)
	if status == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", httpapi.BearerChallenge(r))
	}
	details := amp.ErrorDetails(err)
	if code == amp.CodeRateLimitExceeded || code == amp.CodeServiceUnavailable {
		retry := 1
		if v, ok := details["retryAfter"].(int); ok && v > 1 {
			retry = v
		}
		hdr.Set("Retry-After", strconv.Itoa(retry))
	}
	if code == amp.CodeInternal || code == amp.CodeServiceUnavailable {
		h.log.ErrorContext(r.Context(), "mcp authentication failed", "request_id", id, "code", code, "err", err)
	}
	if code == amp.CodeInternal {
		details = nil
	}
	body, _ := json.Marshal(amp.ErrorBody{Error: amp.ErrorDetail{
		Code: code, Message: amp.ErrorMessage(err), Details: details,
		RequestID: id, Timestamp: h.now().UTC().Truncate(time.Millisecond),
	}})
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// serviceBackend performs the tools' operations with the service methods
// the /v1 handlers call, under the key of the POST that carries them.
type serviceBackend struct{ h *Handler }

// call runs one operation as one API request of the caller: admitted under
// the account's rate limit and quota, checked for scope, then reported for
// the quota and metering under route, as the /v1 middleware does.
func (b *serviceBackend) call(ctx context.Context, route string, scope amp.Scope, fn func(p *service.Principal, requestID string) error) error {
	c, ok := ctx.Value(callerKey{}).(*caller)
	if !ok {
		return amp.Errorf(amp.CodeUnauthorized, "Missing API key. Send it as 'Authorization: Bearer <key>'.")
	}
	svc, start := b.h.svc, b.h.now()
	id := svc.NewRequestID()
	if _, err := svc.Admit(ctx, c.p); err != nil {
		b.h.refused(ctx, c.p, err, route, c.clientIP, start)
		return WithRequestID(err, id)
	}
	err := svc.Authorize(c.p, scope)
	if err == nil {
		err = recovered(func() error { return fn(c.p, id) })
	}
	status := http.StatusOK
	if err != nil {
		status = httpapi.HTTPStatus(amp.ErrorCode(err))
		if status >= 500 {
			b.h.log.ErrorContext(ctx, "mcp tool failed", "request_id", id, "route", route, "err", err)
		}
	}
	now := b.h.now()
	svc.Finish(context.WithoutCancel(ctx), c.p, amp.RequestEvent{
		KeyID: c.p.Key.ID, AccountID: c.p.Key.AccountID, Mode: c.p.Key.Mode,
		Route: route, Status: status, ClientIP: c.clientIP,
		Duration: max(now.Sub(start), 0), At: now.UTC(),
	})
	return WithRequestID(err, id)
}

// refused reports an operation refused at the door, by Authenticate (p
// nil) or by Admit, for metering, as the /v1 middleware does; the service
// decides whether and as what it counts.
func (h *Handler) refused(ctx context.Context, p *service.Principal, err error, route, clientIP string, start time.Time) {
	now := h.now()
	h.svc.Refused(context.WithoutCancel(ctx), p, err, amp.RequestEvent{
		Route: route, Status: httpapi.HTTPStatus(amp.ErrorCode(err)), ClientIP: clientIP,
		Duration: max(now.Sub(start), 0), At: now.UTC(),
	})
}

// recovered runs fn, turning a panic into an internal error. The SDK runs
// tool handlers on goroutines of its own, where a panic would end the
// process; the /v1 routes recover theirs too.
func recovered(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return fn()
}

// Routes under which MCP operations are metered, beside the /v1 patterns.
const (
	// RouteMCP meters a POST to /mcp refused before any tool ran (a
	// revoked, quarantined or expired key).
	RouteMCP           = "POST /mcp"
	RouteGetContext    = "MCP " + ToolGetContext
	RouteReportOutcome = "MCP " + ToolReportOutcome
	RouteGetProfile    = "MCP " + ToolGetProfile
	RouteUpdateProfile = "MCP " + ToolUpdateProfile
	RouteDeleteProfile = "MCP " + ToolDeleteProfile
)

func (b *serviceBackend) GetContext(ctx context.Context, req *amp.ContextRequest) (*amp.Context, error) {
	var out *amp.Context
	err := b.call(ctx, RouteGetContext, amp.ScopeContext, func(p *service.Principal, id string) (err error) {
		out, err = b.h.svc.GetContext(ctx, p, id, req)
		return err
	})
	return out, err
}

func (b *serviceBackend) ReportOutcome(ctx context.Context, req *amp.OutcomeRequest) error {
	return b.call(ctx, RouteReportOutcome, amp.ScopeOutcome, func(p *service.Principal, _ string) error {
		return b.h.svc.ReportOutcome(ctx, p, req)
	})
}

func (b *serviceBackend) GetProfile(ctx context.Context, userID string) (*amp.Profile, error) {
	var out *amp.Profile
	err := b.call(ctx, RouteGetProfile, amp.ScopeProfilesRead, func(p *service.Principal, _ string) (err error) {
		out, err = b.h.svc.GetProfile(ctx, p, userID)
		return err
	})
	return out, err
}

func (b *serviceBackend) UpdateProfile(ctx context.Context, userID string, u *amp.ProfileUpdate) (*amp.Profile, error) {
	var out *amp.Profile
	err := b.call(ctx, RouteUpdateProfile, amp.ScopeProfilesWrite, func(p *service.Principal, _ string) (err error) {
		out, err = b.h.svc.UpdateProfile(ctx, p, userID, u)
		return err
	})
	return out, err
}

func (b *serviceBackend) DeleteProfile(ctx context.Context, userID string) error {
	return b.call(ctx, RouteDeleteProfile, amp.ScopeProfilesWrite, func(p *service.Principal, _ string) error {
		return b.h.svc.DeleteProfile(ctx, p, userID)
	})
}
