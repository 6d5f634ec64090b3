package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/service"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Logger receives the access log and the causes of internal errors;
	// nothing is logged when nil.
	Logger *slog.Logger
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For header is believed. A request from any other peer is
	// attributed to the peer's own address, so that a client cannot dodge
	// the per-IP limit on failed authentications by forging the header.
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

// handle registers a route. With a scope, the route requires an API key
// carrying it.
func (s *Server) handle(method, path string, scope amp.Scope, h handlerFunc) {
	rt := Route{Method: method, Path: path, Scope: scope}
	s.routes = append(s.routes, rt)
	var next http.Handler = s.recoverPanics(s.errorHandler(h))
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

// dispatch routes a request through the mux. When no route matches, the
// mux's plain-text 404 or 405 is replaced by the JSON envelope; a 405 keeps
// the mux's Allow header.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); p != cleanPath(p) {
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

// cleanPath is the canonical form of a URL path, as the ServeMux computes
// it: "." and ".." resolved, repeated slashes merged, a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
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
