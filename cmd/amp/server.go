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
	"github.com/amp-protocol/amp/internal/meter"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/redis"
	"github.com/amp-protocol/amp/internal/service"
)

// server is a running API: the store, the service over it, the limiter,
// the HTTP handler and its listener. serve and bench both run one.
type server struct {
	cfg     *Config
	log     *slog.Logger
	store   amp.Store
	limiter *ratelimit.Limiter
	meter   *meter.Meter  // nil when the store keeps no usage counts
	redis   *redis.Client // the shared limits' Redis; nil without RedisURL
	svc     *service.Service
	api     *httpapi.Server
	http    *http.Server
	ln      net.Listener
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
	var usage amp.UsageStore
	if u, ok := store.(amp.UsageStore); ok {
		usage = u
	} else {
		log.Warn("the store cannot keep monthly quota counts; they live in memory and a restart forgets them")
	}
	reg := metrics.New()
	lcfg := ratelimit.Config{Store: usage, Logger: log, Metrics: reg}
	var rc *redis.Client
	if cfg.RedisURL != "" {
		var err error
		if rc, err = openRedis(cfg, log); err != nil {
			store.Close()
			return nil, err
		}
		lcfg.Buckets = redis.NewBuckets(rc)
		lcfg.Quotas = redis.NewQuota(rc, redis.QuotaConfig{Store: usage})
	}
	wired := false
	defer func() {
		if !wired && rc != nil {
			rc.Close()
		}
	}()
	limiter := ratelimit.New(lcfg)
	scfg := service.Config{Store: store, Learner: newLearner(), Logger: log, Limiter: limiter}
	if o.noLimits {
		scfg.Limiter = nil
	}
	var m *meter.Meter
	if usage != nil && !o.noLimits {
		var err error
		if m, err = meter.New(meter.Config{Store: usage, Logger: log, Metrics: reg}); err != nil {
			store.Close()
			return nil, err
		}
		scfg.Meter = m
	}
	svc, err := service.New(scfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	api := httpapi.New(svc, httpapi.Config{Logger: log, TrustedProxies: cfg.TrustedProxies, Metrics: reg})
	handler, err := routeAll(cfg, log, svc, store, api, reg, limiter)
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
		cfg: cfg, log: log, store: store, limiter: limiter, meter: m, redis: rc, svc: svc, api: api,
		ln: newLimitListener(ln, max(cfg.MaxConns, 1), max(cfg.MaxConnsPerIP, 1), cfg.TrustedProxies),
		http: &http.Server{
			Handler:     refuseSmuggling(handler),
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

// routeAll puts the API, the dashboard (when the store keeps dashboard
// users) and, with a metrics token, the Prometheus metrics behind one
// handler. Every path the dashboard and /metrics do not claim goes to the
// API, whose JSON 404 is the right answer for anything unknown. The
// metrics show every tenant's activity, so without a token they are not
// served on the API's address at all (--metrics-addr serves them apart).
func routeAll(cfg *Config, log *slog.Logger, svc *service.Service, store amp.Store, api http.Handler, reg *metrics.Metrics, limiter *ratelimit.Limiter) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	if cfg.MetricsToken != "" {
		mux.Handle("GET /metrics", metricsHandler(cfg, reg))
	}
	ds, ok := store.(amp.DashboardStore)
	if !ok {
		log.Warn("the store keeps no dashboard users; the dashboard is off")
		return mux, nil
	}
	dcfg := dashboard.Config{
		Logger:         log,
		AllowSignup:    cfg.Signup == "open",
		Secure:         cfg.SecureCookies,
		TrustedProxies: cfg.TrustedProxies,
		Quota:          limiter,
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
	if u, ok := store.(amp.UsageStore); ok {
		dcfg.Usage = u
	}
	key, err := deviceKey(store)
	if err != nil {
		return nil, err
	}
	dcfg.DeviceKey = key
	dash, err := dashboard.Build(svc, ds, dcfg)
	if err != nil {
		return nil, err
	}
	mux.Handle("/dashboard/", dash)
	mux.Handle("GET /{$}", http.RedirectHandler("/dashboard/", http.StatusFound))
	return mux, nil
}

// deviceKeySetting holds the key of the dashboard's device cookies, shared
// by every instance on the store and kept across restarts.
const deviceKeySetting = "dashboard.device_key"

// deviceKey returns the dashboard's device-cookie key, creating it on first
// use. Two instances starting at once may each create one; the last stored
// wins at the next restart, and cookies signed with the other then count
// as from new browsers, which is only a slower sign-in budget.
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
// stop the background jobs, flush the limiter's counts, close the store.
func (s *server) run(ctx context.Context) error {
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- s.svc.Run(jobsCtx) }()
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
	stopJobs()
	<-jobsDone
	var meterErr error
	if s.meter != nil {
		meterErr = s.meter.Close()
	}
	limiterErr := s.limiter.Close()
	if s.redis != nil {
		s.redis.Close()
	}
	storeErr := s.store.Close()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if err := errors.Join(serveErr, meterErr, limiterErr, storeErr); err != nil {
		return err
	}
	s.log.Info("stopped")
	return nil
}
