package main

import (
	"net/http"

	"github.com/amp-protocol/amp/internal/httpapi"
	"github.com/amp-protocol/amp/internal/tracing"
)

// withTracing turns on the OpenTelemetry tracing the OTEL_* variables of
// getenv ask for (docs/agents.md); serve passes its environment.
func withTracing(getenv func(string) string) serverOption {
	return func(o *serverOptions) { o.getenv = getenv }
}

// setupTracing returns the server's tracing: nil (off) unless serve's
// environment asks for it.
func setupTracing(cfg *Config, o *serverOptions) (*tracing.Tracing, error) {
	if o.getenv == nil {
		return nil, nil
	}
	return tracing.Setup(tracing.Config{Getenv: o.getenv, Version: version, Sensitive: cfg.TraceSensitive})
}

// routeOf returns the router pattern a request of the binary matches, for
// the server span's http.route: the API's own patterns, then the routes
// routeAll adds. It only matches; nothing is served through it.
func routeOf(api *httpapi.Server) func(*http.Request) string {
	mux := http.NewServeMux()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, rt := range api.Routes() {
		mux.Handle(rt.Pattern(), nop)
	}
	for _, p := range []string{"/mcp", "GET /metrics", "/dashboard/", "GET /{$}"} {
		mux.Handle(p, nop)
	}
	return func(r *http.Request) string {
		_, pattern := mux.Handler(r)
		return pattern
	}
}

// storeKindName is the store's db.system.name for store spans.
func storeKindName(cfg *Config) string {
	if cfg.DatabaseURL != "" {
		return "postgresql"
	}
	return "sqlite"
}
