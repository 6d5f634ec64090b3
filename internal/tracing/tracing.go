// Package tracing is AMP's OpenTelemetry tracing (go.opentelemetry.io/otel,
// exported as OTLP over HTTP): a server span per HTTP request, child spans
// for authentication, decisions, learning and every store call, and W3C
// traceparent accepted from callers. It is off unless the standard OTEL_*
// variables ask for it; see docs/agents.md for which, and for what spans
// record: never a key, a user id or task text, unless the operator opts in
// to paths and queries with Config.Sensitive.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/amp-protocol/amp"
)

// Config configures Setup.
type Config struct {
	// Getenv reads the OTEL_* variables.
	Getenv func(string) string
	// Version is reported as service.version.
	Version string
	// Sensitive adds the request's path and query (url.path, url.query) to
	// server spans. They may hold user ids; off unless the operator opts in.
	Sensitive bool
}

// Tracing is a configured tracer provider. A nil *Tracing is tracing off:
// its methods pass everything through unchanged.
type Tracing struct {
	provider  *sdktrace.TracerProvider
	tracer    trace.Tracer
	prop      propagation.TextMapPropagator
	sensitive bool
}

const instrumentation = "github.com/amp-protocol/amp"

// Setup returns the tracing the environment asks for, or nil when it asks
// for none. Tracing is on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT is set, or OTEL_TRACES_EXPORTER is "otlp";
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off. Only
// OTLP over HTTP (protobuf) is supported.
func Setup(cfg Config) (*Tracing, error) {
	env := cfg.Getenv
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	exporterName := strings.ToLower(strings.TrimSpace(env("OTEL_TRACES_EXPORTER")))
	tracesEndpoint, endpoint := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), env("OTEL_EXPORTER_OTLP_ENDPOINT")
	switch exporterName {
	case "none":
		return nil, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: only otlp (or none) is supported", exporterName)
	}
	if exporterName == "" && tracesEndpoint == "" && endpoint == "" {
		return nil, nil
	}
	protocol := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol != "" && protocol != "http/protobuf" {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: only http/protobuf is supported", protocol)
	}
	var opts []otlptracehttp.Option
	switch {
	case tracesEndpoint != "":
		opts = append(opts, otlptracehttp.WithEndpointURL(tracesEndpoint))
	case endpoint != "":
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
	}
	if err := checkURL(tracesEndpoint, endpoint); err != nil {
		return nil, err
	}
	headers := env("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
	if headers == "" {
		headers = env("OTEL_EXPORTER_OTLP_HEADERS")
	}
	if headers != "" {
		h, err := parsePairs(headers)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %w", err)
		}
		opts = append(opts, otlptracehttp.WithHeaders(h))
	}
	sampler, err := parseSampler(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))
	if err != nil {
		return nil, err
	}
	res, err := newResource(env, cfg.Version)
	if err != nil {
		return nil, err
	}
	// New only configures the exporter: it connects on the first export,
	// so an unreachable collector never stops the server from starting.
	exporter, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithSampler(sampler),
		sdktrace.WithResource(res),
	)
	return &Tracing{
		provider:  provider,
		tracer:    provider.Tracer(instrumentation, trace.WithInstrumentationVersion(cfg.Version)),
		prop:      propagation.TraceContext{},
		sensitive: cfg.Sensitive,
	}, nil
}

func checkURL(urls ...string) error {
	for _, u := range urls {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("OTLP endpoint %q must be an http(s) URL", u)
		}
	}
	return nil
}

// parsePairs reads the OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES format:
// comma-separated key=value, values percent-encoded.
func parsePairs(s string) (map[string]string, error) {
	out := make(map[string]string)
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New("want comma-separated key=value pairs")
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("the value of %s is not validly percent-encoded", k)
		}
		out[k] = dv
	}
	return out, nil
}

// parseSampler reads OTEL_TRACES_SAMPLER and its argument; the default is
// parentbased_always_on, as the specification says.
func parseSampler(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%s: want a ratio from 0 to 1", arg)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%s is not supported", name)
}

func newResource(env func(string) string, version string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName("amp"), semconv.ServiceVersion(version)}
	if ra := env("OTEL_RESOURCE_ATTRIBUTES"); ra != "" {
		pairs, err := parsePairs(ra)
		if err != nil {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
		}
		for k, v := range pairs {
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	if name := env("OTEL_SERVICE_NAME"); name != "" {
		attrs = append(attrs, semconv.ServiceName(name))
	}
	// Later attributes win: OTEL_SERVICE_NAME over the resource attributes
	// over the defaults.
	return resource.NewWithAttributes(semconv.SchemaURL, attrs...), nil
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Tracer returns the amp.Tracer of the service's steps; NopTracer when
// tracing is off.
func (t *Tracing) Tracer() amp.Tracer {
	if t == nil {
		return amp.NopTracer{}
	}
	return stepTracer{t.tracer}
}

type stepTracer struct{ tracer trace.Tracer }

func (s stepTracer) Start(ctx context.Context, name string) (context.Context, func(error)) {
	ctx, span := s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, func(err error) { endSpan(span, err) }
}

// endSpan ends span with err's outcome: the error code as error.type and
// an error status. The message is not recorded: only the code is known to
// hold nothing of the caller's.
func endSpan(span trace.Span, err error) {
	if err != nil {
		code := amp.ErrorCode(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(code))
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

// Middleware starts a server span for every request, as a child of the
// caller's traceparent when it sends one. route returns the router pattern
// the request matches ("POST /v1/context"), or "" for none; the raw path is
// never recorded unless Sensitive is set.
func (t *Tracing) Middleware(next http.Handler, route func(*http.Request) string) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		method := r.Method
		if !knownMethods[method] {
			method = "_OTHER"
		}
		attrs := []attribute.KeyValue{
			semconv.HTTPRequestMethodKey.String(method),
			semconv.URLScheme(scheme(r)),
			semconv.NetworkProtocolVersion(fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor)),
		}
		if host, port, ok := hostPort(r.Host, scheme(r)); ok {
			attrs = append(attrs, semconv.ServerAddress(host), semconv.ServerPort(port))
		}
		name := method
		if pattern := route(r); pattern != "" {
			_, path, found := strings.Cut(pattern, " ")
			if !found {
				path = pattern
			}
			name += " " + path
			attrs = append(attrs, semconv.HTTPRoute(path))
		}
		if t.sensitive {
			attrs = append(attrs, semconv.URLPath(r.URL.Path))
			if r.URL.RawQuery != "" {
				attrs = append(attrs, semconv.URLQuery(r.URL.RawQuery))
			}
		}
		ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		}
	})
}

var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true,
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func hostPort(hostport, scheme string) (string, int, bool) {
	u := url.URL{Host: hostport}
	host, portStr := u.Hostname(), u.Port()
	if host == "" {
		return "", 0, false
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		port = 80
		if scheme == "https" {
			port = 443
		}
	}
	return host, port, true
}

// statusWriter records the response's status for the server span.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ShutdownTimeout bounds the final export at shutdown, so that an
// unreachable collector cannot hold the process.
const ShutdownTimeout = 5 * time.Second
