package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/service"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Logger receives the access log and the causes of internal errors;
	// nothing is logged when nil.
	Logger *slog.Logger
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For header is believed (httpx.ClientIP), for every front
	// end behind the chain: API authentication, dashboard sign-ins and
	// metering alike. A request from any other peer is attributed to the
	// peer's own address, so that a client cannot dodge the per-IP limits
	// on failed authentications and sign-ins by forging the header.
	TrustedProxies []netip.Prefix
	// Now is the clock of error timestamps, durations and request events;
	// time.Now when nil.
	Now func() time.Time
	// Metrics receives per-route request counts and latencies, and refusals
	// of failed authentications; none when nil.
	Metrics *metrics.Metrics
}

// Route is one registered route.
type Route struct {
	Method string
	Path   string    // a ServeMux path pattern, e.g. "/v1/profile/{userId}"
	Scope  amp.Scope // the scope a key needs; empty for unauthenticated routes
}

// Pattern is the route's ServeMux pattern, e.g. "GET /v1/profile/{userId}".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Server is the HTTP handler of the AMP API.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	now     func() time.Time
	trusted []netip.Prefix
	metrics *metrics.Metrics

	mux     *http.ServeMux
	routes  []Route
	handler http.Handler

	// Front ends mounted behind the chain (Mount, Handle), read-only once
	// the server serves.
	mounts []mount
	exact  map[string]exactRoute

	draining atomic.Bool
}

// New returns the API's handler over svc.
func New(svc *service.Service, cfg Config) *Server {
	s := &Server{
		svc:     svc,
		log:     cfg.Logger,
		now:     cfg.Now,
		trusted: cfg.TrustedProxies,
		metrics: cfg.Metrics,
		mux:     http.NewServeMux(),
		exact:   make(map[string]exactRoute),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.registerRoutes()
	s.handler = chain(http.HandlerFunc(s.dispatch), s.requestInfo, s.accessLog, s.recoverPanics)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Routes returns the registered routes in registration order.
func (s *Server) Routes() []Route {
	return append([]Route(nil), s.routes...)
}

// Drain makes GET /readyz answer 503 from now on, so that a load balancer
// stops sending traffic before the process shuts down. Requests are still
// served meanwhile.
func (s *Server) Drain() { s.draining.Store(true) }

// mount is a front end that owns every path under its prefix.
type mount struct {
	prefix string // "/dashboard": the path itself and everything under "/dashboard/"
	h      http.Handler
}

// exactRoute is a handler of one method and path, such as GET /metrics.
type exactRoute struct {
	pattern string
	h       http.Handler
	quiet   bool
}

// Mount serves every path under prefix ("/dashboard", "/mcp") with h,
// behind the same chain as the API: request id, access log, metrics and
// panic recovery. h names its routes with httpx.SetRoute, so that they
// appear in the log and the metrics by pattern; a panic in h is answered
// with h's own page when h implements httpx.ErrorPage. Mount is for
// wiring, before the server serves; it panics on a prefix that is not a
// clean absolute path without a trailing slash, or that is taken.
func (s *Server) Mount(prefix string, h http.Handler) {
	if prefix == "" || prefix == "/" || prefix[len(prefix)-1] == '/' || httpx.CleanPath(prefix) != prefix || s.mounted(prefix) != nil {
		panic(fmt.Sprintf("httpapi: cannot mount at %q", prefix))
	}
	s.mounts = append(s.mounts, mount{prefix: prefix, h: h})
}

// Handle serves one method and exact path ("GET /metrics") with h, behind
// the chain; a GET also answers HEAD. quiet logs its requests at debug
// level, for probes and scrapes. Like Mount, it is for wiring.
func (s *Server) Handle(method, path string, h http.Handler, quiet bool) {
	pattern := method + " " + path
	if _, taken := s.exact[pattern]; taken || httpx.CleanPath(path) != path {
		panic(fmt.Sprintf("httpapi: cannot handle %q", pattern))
	}
	s.exact[pattern] = exactRoute{pattern: pattern, h: h, quiet: quiet}
}

// mounted returns the mount that owns path, or nil.
func (s *Server) mounted(path string) *mount {
	for i := range s.mounts {
		m := &s.mounts[i]
		if rest, ok := strings.CutPrefix(path, m.prefix); ok && (rest == "" || rest[0] == '/') {
			return m
		}
	}
	return nil
}

// handle registers a route. With a scope, the route requires an API key
// carrying it.
func (s *Server) handle(method, path string, scope amp.Scope, h handlerFunc) {
	rt := Route{Method: method, Path: path, Scope: scope}
	s.routes = append(s.routes, rt)
	// No recovery here: the chain's one recoverPanics answers, and
	// authenticate's deferred Finish still meters a panic as a 500.
	var next http.Handler = s.errorHandler(h)
	if scope != "" {
		next = s.authenticate(scope, next)
	}
	s.mux.Handle(rt.Pattern(), s.route(rt.Pattern(), next))
}

// chain wraps h in middleware; the first one listed is the outermost.
func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// dispatch sends a request to the front end mounted at its path, to an
// exact route, or to the API's mux. When no API route matches, the mux's
// plain-text 404 or 405 is replaced by the JSON envelope; a 405 keeps the
// mux's Allow header. Nothing is redirected: a path that is not canonical
// gets its front end's 404.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if m := s.mounted(r.URL.Path); m != nil {
		if page, ok := m.h.(httpx.ErrorPage); ok {
			httpx.FromContext(r.Context()).ErrorPage = page
		}
		m.h.ServeHTTP(w, r)
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if e, ok := s.exact[method+" "+r.URL.Path]; ok && r.URL.RawPath == "" {
		info := httpx.FromContext(r.Context())
		info.Route, info.Quiet = e.pattern, e.quiet
		e.h.ServeHTTP(w, r)
		return
	}
	if p := r.URL.EscapedPath(); p != httpx.CleanPath(p) {
		// The mux would redirect to the cleaned path. An API client is
		// better served by a plain answer than by a redirect it may not
		// follow with its method and body.
		s.writeError(w, r, amp.Errorf(amp.CodeNotFound, "No such route: the path has empty or dot segments."))
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	if probe, ok := withSlashSegmentsStoodIn(r); ok {
		if h, pattern = s.mux.Handler(probe); pattern != "" {
			setPathValues(r, pattern)
			h.ServeHTTP(w, r)
			return
		}
	}
	rec := &headerRecorder{header: make(http.Header)}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		allow := rec.header.Get("Allow")
		w.Header().Set("Allow", allow)
		s.writeError(w, r, amp.Errorf(amp.CodeMethodNotAllowed, "Method %s is not allowed on this route; allowed: %s.", r.Method, allow))
		return
	}
	s.writeError(w, r, amp.Errorf(amp.CodeNotFound, "No such route."))
}

// withSlashSegmentsStoodIn works around a ServeMux limitation: a wildcard
// never matches a path segment that decodes to "/" alone ("%2F"), which the
// mux takes for a trailing slash. Without this, the one userId "/", which
// /v1/context accepts, could never be read or erased. It returns a copy of
// r whose such segments are replaced by a stand-in, for matching only; the
// real values are then set from r's own path by setPathValues.
func withSlashSegmentsStoodIn(r *http.Request) (*http.Request, bool) {
	segs := strings.Split(r.URL.EscapedPath(), "/")
	found := false
	for i, seg := range segs {
		if strings.EqualFold(seg, "%2F") {
			segs[i], found = "_", true
		}
	}
	if !found {
		return nil, false
	}
	escaped := strings.Join(segs, "/")
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, false
	}
	probe := r.WithContext(r.Context())
	u := *r.URL
	u.Path, u.RawPath = unescaped, escaped
	probe.URL = &u
	return probe, true
}

// setPathValues sets r's path values for pattern from r's path, as the
// mux would have. Only single-segment wildcards are supported: the API
// has no other kind.
func setPathValues(r *http.Request, pattern string) {
	_, path, _ := strings.Cut(pattern, " ")
	want := strings.Split(path, "/")
	have := strings.Split(r.URL.EscapedPath(), "/")
	if len(want) != len(have) {
		return
	}
	for i, seg := range want {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			if v, err := url.PathUnescape(have[i]); err == nil {
				r.SetPathValue(strings.TrimSuffix(name, "}"), v)
			}
		}
	}
}

// headerRecorder captures the status and headers the mux's fallback
// handlers write, and drops their plain-text body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(p), nil
}
