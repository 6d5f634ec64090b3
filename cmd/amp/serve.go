package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/amp-protocol/amp"
)

var serveSettings = []string{"addr", "data", "database-url", "redis-url", "sync", "log-format", "log-level", "trusted-proxy", "shutdown-timeout", "signup", "secure-cookies", "webhook-allow-private", "secret-scanning-keys", "key-rotation-age", "rate-limit-sustained", "webhook-timeout", "trace-sensitive", "public-url", "smtp-url", "request-log-retention",
	"cache-size", "max-conns", "max-conns-per-ip", "idle-timeout", "metrics-addr", "metrics-token", "audit-retention",
	"database-pool"}

func runServe(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "serve", "[--addr HOST:PORT] [--data DIR] [flags]", `
Run the AMP API. The data lives in an embedded SQLite database, DIR/amp.db,
unless --database-url selects PostgreSQL.

On first start on an empty database, serve creates the "default" account
(plan starter) and one test key, and prints that key, once, with a curl
line to try it. It then prints "listening on http://HOST:PORT" and serves
until SIGINT or SIGTERM, when it finishes the requests in flight and stops.

The administrative commands (accounts, keys, backup) may run against the
same data directory while serve runs.`, serveSettings...)
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	cfg := &cl.cfg
	log := newLogger(cfg, e.stderr)
	store, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	s, err := newServer(cfg, log, store, withTracing(e.getenv))
	if err != nil {
		return err
	}
	acct, secret, err := s.svc.EnsureDefaultAccount(ctx)
	if err != nil {
		s.ln.Close()
		store.Close()
		return fmt.Errorf("create the default account: %w", err)
	}
	if secret != "" {
		printFirstStart(e.stdout, acct, secret, s.baseURL())
	}
	setup, err := s.svc.SetupLink(ctx)
	if err != nil {
		s.ln.Close()
		store.Close()
		return fmt.Errorf("create the first-run setup link: %w", err)
	}
	printDashboard(e.stdout, s, setup)
	printListening(e.stdout, s)
	if s.metricsLn != nil {
		fmt.Fprintf(e.stdout, "metrics on http://%s/metrics\n", s.metricsLn.Addr())
	}
	s.log.Info("listening", "addr", s.addr().String(), "store", storeKind(cfg))
	return s.run(ctx)
}

func storeKind(cfg *Config) string {
	if cfg.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}

// printFirstStart shows the first key, once, with a curl line that works
// as printed.
func printFirstStart(w io.Writer, acct *amp.Account, secret, baseURL string) {
	fmt.Fprintf(w, `Created the %q account (%s, plan %s) and its first test key.
The key is shown only this once; store it now (e.g. export AMP_API_KEY=...):

    %s

Try it:

    %s

`, acct.Name, acct.ID, acct.Plan, secret, curlLine(baseURL, secret))
}

// curlLine is a one-line request for a context, runnable in any POSIX
// shell.
func curlLine(baseURL, secret string) string {
	return fmt.Sprintf(`curl %s/v1/context -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '{"userId":"user_123","task":"build a feature"}'`,
		baseURL, secret)
}

// publicURL is where users reach the server: --public-url, or the
// listening address.
func (s *server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return s.baseURL()
}

// printDashboard names the dashboard and, while the default account has
// no dashboard user, the one-time link that claims it.
func printDashboard(w io.Writer, s *server, setup string) {
	base := s.publicURL()
	fmt.Fprintf(w, "Dashboard: %s/dashboard/\n", base)
	if setup != "" {
		fmt.Fprintf(w, `
The %q account (the account of the first key) has no dashboard user yet.
To own it, open this one-time link within 7 days (a new one is printed at
every start until it is used):

    %s

`, amp.DefaultAccountName, setupURL(base, setup))
	}
}

func setupURL(base, secret string) string { return base + "/dashboard/join?t=" + secret }

// printListening prints the line tests and scripts wait for.
func printListening(w io.Writer, s *server) {
	a := s.addr()
	if a.IP.IsUnspecified() {
		fmt.Fprintf(w, "listening on http://%s (all interfaces; locally %s)\n", net.JoinHostPort(a.IP.String(), fmt.Sprint(a.Port)), s.baseURL())
		return
	}
	fmt.Fprintf(w, "listening on %s\n", s.baseURL())
}
