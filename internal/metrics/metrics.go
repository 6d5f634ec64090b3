// Package metrics exposes AMP's Prometheus metrics: requests by route and
// status, request latency, requests refused by the rate limiter or the
// monthly quota, store errors and dropped usage events.
//
// The metrics live in their own registry (with the Go runtime and process
// collectors), not in the client library's global one, and the package
// keeps no set of its own: the server makes one with New, passes it to
// every component that counts (the HTTP middleware, the limiter, the
// meter, the Redis client) and serves that one at /metrics. A nil
// *Metrics counts nothing, for tests and tools that do not serve metrics.
//
// Label values are bounded on purpose: route is the matched route pattern
// (callers pass "" for an unmatched path, which becomes "unmatched"), status
// is the numeric HTTP status, reason and op come from small fixed sets.
// Never pass user input, key ids or account ids as labels.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Reasons for a limited request.
const (
	ReasonRate  = "rate"  // RATE_LIMIT_EXCEEDED from an account's or key's rate
	ReasonQuota = "quota" // QUOTA_EXCEEDED from the monthly live quota
	ReasonAuth  = "auth"  // too many failed authentications from one IP
)

// Metrics is one set of AMP metrics and the registry that exposes them.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	limited     *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	dropped     prometheus.Counter
}

// latencyBuckets span a cached decision (well under a millisecond) to a
// request stuck behind a slow store (seconds).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// New returns a fresh set of metrics in a new registry that also holds the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amp_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "amp_http_request_duration_seconds",
			Help:    "Time from receiving a request to writing its response, by route pattern.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amp_limited_requests_total",
			Help: "Requests refused with 429, by reason: rate, quota or auth (failed authentications from one IP).",
		}, []string{"reason"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amp_store_errors_total",
			Help: "Failed store operations, by operation.",
		}, []string{"op"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "amp_usage_events_dropped_total",
			Help: "Usage events the meter dropped because its queue was full or it was closed.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.limited, m.storeErrors, m.dropped,
	)
	for _, r := range []string{ReasonRate, ReasonQuota, ReasonAuth} {
		// Export zeros, so that rate() works from the first scrape.
		m.limited.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry holding m, to register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the HTTP handler that serves m in the Prometheus
// exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Observe records one answered request: route is the matched route pattern
// ("" when no route matched), status the HTTP status and d its duration.
func (m *Metrics) Observe(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, statusLabel(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Limited counts one request refused with 429 for reason (ReasonRate,
// ReasonQuota or ReasonAuth).
func (m *Metrics) Limited(reason string) {
	if m != nil {
		m.limited.WithLabelValues(reason).Inc()
	}
}

// StoreError counts one failed store operation op (a short fixed name such
// as "usage_flush").
func (m *Metrics) StoreError(op string) {
	if m != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// Dropped counts n usage events the meter could not record.
func (m *Metrics) Dropped(n int) {
	if m != nil {
		m.dropped.Add(float64(n))
	}
}

// statusLabels avoids an allocation per request for the usual statuses.
var statusLabels = func() map[int]string {
	l := make(map[int]string)
	for _, s := range []int{200, 201, 204, 400, 401, 403, 404, 405, 409, 410, 413, 429, 500, 503} {
		l[s] = strconv.Itoa(s)
	}
	return l
}()

func statusLabel(status int) string {
	if s, ok := statusLabels[status]; ok {
		return s
	}
	return strconv.Itoa(status)
}
