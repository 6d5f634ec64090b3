package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/dashboard"
	"github.com/amp-protocol/amp/internal/evaluate"
	"github.com/amp-protocol/amp/internal/httpapi"
	"github.com/amp-protocol/amp/internal/mail"
	"github.com/amp-protocol/amp/internal/meter"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/redis"
	"github.com/amp-protocol/amp/internal/secretscan"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/tracing"
	"github.com/amp-protocol/amp/internal/webhook"
)

// server is a running API: the store, the service over it, the limiter,
// the HTTP handler and its listener. serve and bench both run one.
type server struct {
	cfg     *Config
	log     *slog.Logger
	store   amp.Store
	limiter *ratelimit.Limiter
	meter   *meter.Meter     // nil when the store keeps no usage counts
	redis   *redis.Client    // the shared limits' Redis; nil without RedisURL
	tracing *tracing.Tracing // nil when tracing is off
	svc     *service.Service
	api     *httpapi.Server
	http    *http.Server
	ln      net.Listener
	hooks   *webhook.Worker
	// metricsHTTP serves /metrics on metricsLn (--metrics-addr); both nil
	// without it.
	metricsHTTP *http.Server
	metricsLn   net.Listener
}

// serverOptions change how newServer wires a server; only amp bench uses
// them.
type serverOptions struct {
	// noLimits runs the service without rate limits, quotas and metering,
	// the baseline against which bench measures what they cost.
	noLimits bool
	// getenv is serve's environment, from which tracing reads its OTEL_*
	// variables; no tracing when nil.
	getenv func(string) string
}

type serverOption func(*serverOptions)

func withoutLimits() serverOption { return func(o *serverOptions) { o.noLimits = true } }

// newServer wires the service over store and listens on cfg.Addr. The
// server owns store from then on: run closes it, and so does newServer if
// it fails.
func newServer(cfg *Config, log *slog.Logger, store amp.Store, opts ...serverOption) (*server, error) {
	var o serverOptions
	for _, fn := range opts {
		fn(&o)
	}
	reg := metrics.New()
	lcfg := ratelimit.Config{Store: store, Logger: log, Metrics: reg}
	var rc *redis.Client
	if cfg.RedisURL != "" {
		var err error
		if rc, err = openRedis(cfg, log, reg); err != nil {
			store.Close()
			return nil, err
		}
		lcfg.Buckets = redis.NewBuckets(rc)
		lcfg.QuotaCounter = redis.NewQuotaCounter(rc, redis.QuotaCounterConfig{Store: store})
	}
	wired := false
	defer func() {
		if !wired && rc != nil {
			rc.Close()
		}
	}()
	limiter := ratelimit.New(lcfg)
	tr, err := setupTracing(cfg, &o)
	if err != nil {
		store.Close()
		return nil, err
	}
	defer func() {
		if !wired {
			tr.Shutdown(context.Background())
		}
	}()
	scfg := service.Config{Store: tr.Store(store, storeKindName(cfg)), Learner: newLearner(), Logger: log, Limiter: limiter, Tracer: tr.Tracer(),
		AllowSignup: cfg.Signup == "open", Users: store, Usage: store, Quota: limiter, AuditRetention: cfg.AuditRetention}
	if cfg.AuditRetention == 0 {
		scfg.AuditRetention = -1 // kept for ever
	}
	if cfg.RequestLogRetention > 0 {
		scfg.Requests, scfg.Country, scfg.RequestLogRetention = store, meter.Country, cfg.RequestLogRetention
	}
	if cfg.SMTPURL != "" {
		mailer, err := mail.Parse(cfg.SMTPURL)
		if err != nil {
			store.Close()
			return nil, err
		}
		scfg.Mailer = mailer
	}
	if o.noLimits {
		scfg.Limiter = nil
	}
	var m *meter.Meter
	if !o.noLimits {
		var err error
		if m, err = meter.New(meter.Config{Store: store, Logger: log, Metrics: reg}); err != nil {
			store.Close()
			return nil, err
		}
		scfg.Meter = m
	}
	scfg.Events = service.EventConfig{
		RotationAge: cfg.KeyRotationAge, RateLimitSustained: cfg.RateLimitSustained,
		AllowPrivateTargets: cfg.WebhookAllowPrivate, Usage: store,
	}
	if !o.noLimits {
		scfg.Events.QuotaUsage = func(ctx context.Context, a *amp.Account, now time.Time) (int64, error) {
			q, err := limiter.QuotaUsage(ctx, a, now)
			return q.Used, err
		}
	}
	if cfg.SecretScanningKeys != "" {
		keys, err := secretscan.Open(context.Background(), cfg.SecretScanningKeys, nil, nil)
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("--secret-scanning-keys: %w", err)
		}
		scfg.Events.ScannerKeys = keys
	}
	if scfg.DeviceKey, err = deviceKey(store); err != nil {
		store.Close()
		return nil, err
	}
	svc, err := service.New(scfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	hooks, err := webhook.New(webhook.Config{Store: store, Logger: log, AllowPrivate: cfg.WebhookAllowPrivate, Timeout: cfg.WebhookTimeout})
	if err != nil {
		store.Close()
		return nil, err
	}
	api := httpapi.New(svc, httpapi.Config{Logger: log, TrustedProxies: cfg.TrustedProxies, Metrics: reg})
	handler, err := routeAll(cfg, log, svc, store, api, reg, hooks)
	if err != nil {
		store.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s := &server{
		cfg: cfg, log: log, store: store, limiter: limiter, meter: m, redis: rc, svc: svc, api: api, hooks: hooks, tracing: tr,
		ln: newLimitListener(ln, max(cfg.MaxConns, 1), max(cfg.MaxConnsPerIP, 1), cfg.TrustedProxies),
		http: &http.Server{
			// The smuggling check is outermost: it must see every request
			// the connection carried.
			Handler:     refuseSmuggling(tr.Middleware(handler, routeOf(api))),
			ConnContext: withFramer,
			// Bounds on slow clients: a request's headers must arrive in
			// 10 s and the whole exchange fit in 30 s (bodies are at most
			// 64 KiB); idle keep-alive connections are closed after
			// IdleTimeout.
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    32 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			store.Close()
			return nil, fmt.Errorf("listen on %s (--metrics-addr): %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsHandler(cfg, reg))
		s.metricsLn = mln
		s.metricsHTTP = &http.Server{
			Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: 32 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	wired = true
	return s, nil
}

// metricsHandler serves the Prometheus metrics, behind the bearer token
// when one is set.
func metricsHandler(cfg *Config, reg *metrics.Metrics) http.Handler {
	if cfg.MetricsToken != "" {
		return requireBearer(cfg.MetricsToken, reg.Handler())
	}
	return reg.Handler()
}

// routeAll puts the dashboard, MCP and, with a metrics token, the
// Prometheus metrics behind the API's middleware chain, so that every
// route the binary serves gets a request id, an access-log line, metrics
// and panic recovery, once. Every path they do not claim goes to the API,
// whose JSON 404 is the right answer for anything unknown. The metrics
// show every tenant's activity, so without a token they are not served on
// the API's address at all (--metrics-addr serves them apart).
func routeAll(cfg *Config, log *slog.Logger, svc *service.Service, store amp.Store, api *httpapi.Server, reg *metrics.Metrics, hooks *webhook.Worker) (http.Handler, error) {
	if cfg.MetricsToken != "" {
		api.Handle(http.MethodGet, "/metrics", metricsHandler(cfg, reg), true)
	}
	api.Mount("/mcp", newMCPHandler(log, svc, api))
	dcfg := dashboard.Config{
		Logger:    log,
		Secure:    cfg.SecureCookies,
		PublicURL: cfg.PublicURL,
		// The circuit is this instance's (docs/webhooks.md): the page
		// shows what the instance serving it would do.
		Circuit: func(id string) string { return string(hooks.Circuit(id, time.Now())) },
		Lift: func(ctx context.Context, t amp.Tenant, since time.Time) (*dashboard.Lift, error) {
			r, err := evaluate.Lift(ctx, store, t, since)
			if err != nil {
				return nil, err
			}
			return &dashboard.Lift{
				TreatedOutcomes: r.Personalised.Known, HoldoutOutcomes: r.Holdout.Known,
				TreatedRate: r.Personalised.CompletionRate, HoldoutRate: r.Holdout.CompletionRate,
				Lift: r.Lift, Low: r.Low, High: r.High,
			}, nil
		},
	}
	dash, err := dashboard.Build(svc, dcfg)
	if err != nil {
		return nil, err
	}
	api.Mount(dashboard.Prefix, dash)
	api.Handle(http.MethodGet, "/", http.RedirectHandler(dashboard.Prefix+"/", http.StatusFound), false)
	return api, nil
}

// deviceKeySetting holds the key that signs the device tokens of the
// dashboard's browsers (service.Config.DeviceKey), shared by every instance
// on the store and kept across restarts.
const deviceKeySetting = "dashboard.device_key"

// deviceKey returns the sign-in throttle's device-token key, creating it on
// first use. Two instances starting at once may each create one; the last
// stored wins at the next restart, and tokens signed with the other then
// count as from new browsers, which is only a slower sign-in budget.
func deviceKey(store amp.Store) ([]byte, error) {
	ctx := context.Background()
	v, err := store.Setting(ctx, deviceKeySetting)
	if err != nil {
		return nil, fmt.Errorf("read the dashboard's device key: %w", err)
	}
	if k, err := hex.DecodeString(v); err == nil && len(k) == 32 {
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := store.SetSetting(ctx, deviceKeySetting, hex.EncodeToString(k)); err != nil {
		return nil, fmt.Errorf("store the dashboard's device key: %w", err)
	}
	return k, nil
}

// addr is the address the server listens on.
func (s *server) addr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// baseURL is a URL clients on this machine can reach the server at: an
// unspecified listen address (0.0.0.0, ::) is reached through loopback.
func (s *server) baseURL() string {
	a := s.addr()
	host := a.IP
	if host.IsUnspecified() {
		if host.To4() != nil {
			host = net.IPv4(127, 0, 0, 1)
		} else {
			host = net.IPv6loopback
		}
	}
	return "http://" + net.JoinHostPort(host.String(), fmt.Sprint(a.Port))
}

// run serves until ctx is done, then shuts down in order: stop taking new
// connections and finish the requests in flight (within ShutdownTimeout),
// stop the background jobs and the webhook worker, flush the limiter's
// counts, close the store.
func (s *server) run(ctx context.Context) error {
	s.svc.Start()
	s.hooks.Start()
	s.limiter.Start()
	if s.meter != nil {
		s.meter.Start()
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- s.http.Serve(s.ln) }()
	metricsDone := make(chan error, 1)
	if s.metricsHTTP != nil {
		go func() { metricsDone <- s.metricsHTTP.Serve(s.metricsLn) }()
	} else {
		metricsDone <- http.ErrServerClosed
	}

	var serveErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	case serveErr = <-serveDone:
		s.log.Error("server stopped", "err", serveErr)
	}
	s.api.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := s.http.Shutdown(shutdownCtx)
	if shutdownErr != nil {
		s.log.Warn("requests still in flight at the shutdown deadline were cut off", "err", shutdownErr)
		s.http.Close()
	}
	if s.metricsHTTP != nil {
		if err := s.metricsHTTP.Shutdown(shutdownCtx); err != nil {
			s.metricsHTTP.Close()
		}
	}
	if err := <-metricsDone; !errors.Is(err, http.ErrServerClosed) {
		s.log.Warn("the metrics server stopped", "err", err)
	}
	s.hooks.Close() // deliveries in flight finish, within their timeout
	jobsErr := s.svc.Close()
	var meterErr error
	if s.meter != nil {
		meterErr = s.meter.Close()
	}
	limiterErr := s.limiter.Close()
	if s.redis != nil {
		s.redis.Close()
	}
	storeErr := s.store.Close()
	traceCtx, cancelTrace := context.WithTimeout(context.WithoutCancel(ctx), tracing.ShutdownTimeout)
	if err := s.tracing.Shutdown(traceCtx); err != nil {
		s.log.Warn("exporting the last spans failed", "err", err)
	}
	cancelTrace()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if err := errors.Join(serveErr, jobsErr, meterErr, limiterErr, storeErr); err != nil {
		return err
	}
	s.log.Info("stopped")
	return nil
}
