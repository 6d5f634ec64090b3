package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// parseServe parses serve's command line as runServe does, without
// serving.
func parseServe(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	cl := newCmdLine(testEnv(env), "serve", "", "", serveSettings...)
	_, _, err := cl.parse(args, 0, 0)
	return cl.cfg, err
}

func testEnv(vars map[string]string) *env {
	return &env{getenv: mapEnv(vars), stdin: strings.NewReader(""), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
}

func TestConfigPrecedence(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := parseServe(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultConfig()
		if fmt.Sprint(cfg) != fmt.Sprint(want) {
			t.Errorf("got %+v, want %+v", cfg, want)
		}
		if cfg.Addr != "127.0.0.1:8080" || cfg.DataDir != "./amp-data" {
			t.Errorf("got addr %q data %q", cfg.Addr, cfg.DataDir)
		}
	})
	t.Run("EnvOverridesDefaults", func(t *testing.T) {
		cfg, err := parseServe(t, map[string]string{
			"AMP_ADDR": ":9000", "AMP_DATA_DIR": "/var/lib/amp", "AMP_SYNC": "full", "AMP_LOG_FORMAT": "json",
			"AMP_LOG_LEVEL": "debug", "AMP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7", "AMP_SHUTDOWN_TIMEOUT": "3s",
			"AMP_DATABASE_URL": "postgres://amp@db/amp", "AMP_SIGNUP": "closed", "AMP_SECURE_COOKIES": "true",
			"AMP_PUBLIC_URL": "https://amp.example.com/", "AMP_REQUEST_LOG_RETENTION": "24h",
			"AMP_CACHE_SIZE": "64MiB", "AMP_MAX_CONNS": "1000", "AMP_MAX_CONNS_PER_IP": "10", "AMP_IDLE_TIMEOUT": "30s",
			"AMP_METRICS_ADDR": "127.0.0.1:9090", "AMP_METRICS_TOKEN": "0123456789abcdef",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Addr: ":9000", DataDir: "/var/lib/amp", Sync: "full", LogFormat: "json", LogLevel: "debug",
			TrustedProxies:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")},
			ShutdownTimeout: 3 * time.Second, DatabaseURL: "postgres://amp@db/amp", Signup: "closed", SecureCookies: true,
			KeyRotationAge: DefaultKeyRotationAge, RateLimitSustained: DefaultRateLimitSustained, WebhookTimeout: DefaultWebhookTimeout,
			PublicURL: "https://amp.example.com", RequestLogRetention: 24 * time.Hour, AuditRetention: DefaultAuditRetention,
			CacheBytes: 64 << 20, MaxConns: 1000, MaxConnsPerIP: 10, IdleTimeout: 30 * time.Second,
			MetricsAddr: "127.0.0.1:9090", MetricsToken: "0123456789abcdef",
		}
		if fmt.Sprint(cfg) != fmt.Sprint(want) {
			t.Errorf("got %+v, want %+v", cfg, want)
		}
	})
	t.Run("FlagsOverrideEnv", func(t *testing.T) {
		cfg, err := parseServe(t, map[string]string{"AMP_ADDR": ":9000", "AMP_DATA_DIR": "/env", "AMP_TRUSTED_PROXIES": "10.0.0.0/8"},
			"--addr", "127.0.0.1:0", "-data", "/flag", "--trusted-proxy", "fd00::/8", "--trusted-proxy", "172.16.0.0/12")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:0" || cfg.DataDir != "/flag" {
			t.Errorf("got addr %q data %q", cfg.Addr, cfg.DataDir)
		}
		// The flags replace the variable's list rather than add to it.
		want := []netip.Prefix{netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("172.16.0.0/12")}
		if fmt.Sprint(cfg.TrustedProxies) != fmt.Sprint(want) {
			t.Errorf("trusted proxies: got %v, want %v", cfg.TrustedProxies, want)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantField string
		wantIn    string // the error names the flag and variable too
	}{
		{"AddrWithoutPort", nil, []string{"--addr", "localhost"}, "Addr", "--addr or AMP_ADDR"},
		{"AddrBadPort", map[string]string{"AMP_ADDR": "127.0.0.1:99999"}, nil, "Addr", "AMP_ADDR"},
		{"EmptyData", nil, []string{"--data", ""}, "DataDir", "--data"},
		{"Sync", nil, []string{"--sync", "sometimes"}, "Sync", "normal, full"},
		{"LogFormat", map[string]string{"AMP_LOG_FORMAT": "xml"}, nil, "LogFormat", "AMP_LOG_FORMAT"},
		{"LogLevel", nil, []string{"--log-level", "loud"}, "LogLevel", "--log-level"},
		{"DatabaseURL", nil, []string{"--database-url", "mysql://x"}, "DatabaseURL", "postgres://"},
		{"TrustedProxyEnv", map[string]string{"AMP_TRUSTED_PROXIES": "10.0.0.0/99"}, nil, "TrustedProxies", "AMP_TRUSTED_PROXIES"},
		{"ShutdownTimeout", nil, []string{"--shutdown-timeout", "-1s"}, "ShutdownTimeout", "positive"},
		{"ShutdownTimeoutEnv", map[string]string{"AMP_SHUTDOWN_TIMEOUT": "soon"}, nil, "ShutdownTimeout", "AMP_SHUTDOWN_TIMEOUT"},
		{"CacheSize", map[string]string{"AMP_CACHE_SIZE": "lots"}, nil, "CacheBytes", "64MiB"},
		{"CacheSizeNegative", map[string]string{"AMP_CACHE_SIZE": "-1MiB"}, nil, "CacheBytes", "AMP_CACHE_SIZE"},
		{"MaxConns", nil, []string{"--max-conns", "0"}, "MaxConns", "between 1 and"},
		{"MaxConnsPerIPOverTotal", nil, []string{"--max-conns", "10", "--max-conns-per-ip", "11"}, "MaxConnsPerIP", "--max-conns (10)"},
		{"IdleTimeout", map[string]string{"AMP_IDLE_TIMEOUT": "0s"}, nil, "IdleTimeout", "positive"},
		{"MetricsAddr", nil, []string{"--metrics-addr", "9090"}, "MetricsAddr", "HOST:PORT"},
		{"MetricsTokenShort", map[string]string{"AMP_METRICS_TOKEN": "short"}, nil, "MetricsToken", "16 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServe(t, tt.env, tt.args...)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FieldError", err)
			}
			if fe.Field != tt.wantField || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("got field %s, error %q; want field %s and %q in it", fe.Field, err, tt.wantField, tt.wantIn)
			}
			if !errors.Is(err, errUsage) {
				t.Errorf("an invalid setting is not a usage error: %v", err)
			}
		})
	}
	t.Run("BadFlag", func(t *testing.T) {
		_, err := parseServe(t, nil, "--trusted-proxy", "not-a-network")
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "not-a-network") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("MetricsTokenHidden", func(t *testing.T) {
		_, err := parseServe(t, map[string]string{"AMP_METRICS_TOKEN": "s3cret"})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("got %v, want an error without the token", err)
		}
	})
	t.Run("Sizes", func(t *testing.T) {
		for in, want := range map[string]int64{"0": 0, "4096": 4096, "64KiB": 64 << 10, "256MiB": 256 << 20, "2GiB": 2 << 30, "10 MiB": 10 << 20, "1B": 1} {
			if got, err := parseSize(in); err != nil || got != want {
				t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
			}
		}
		for _, in := range []string{"", "MiB", "1.5GiB", "1TB", "-1", "99999999999GiB"} {
			if _, err := parseSize(in); err == nil {
				t.Errorf("parseSize(%q) succeeded", in)
			}
		}
	})
	t.Run("PasswordRedacted", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.DatabaseURL = "mysql://amp:s3cret@db/amp"
		if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("got %v, want an error without the password", err)
		}
	})
	t.Run("UnusedSettingIgnored", func(t *testing.T) {
		// keys create does not listen, so a bad AMP_ADDR must not stop it.
		cl := newCmdLine(testEnv(map[string]string{"AMP_ADDR": "nonsense"}), "keys list", "", "", adminSettings...)
		if _, _, err := cl.parse(nil, 0, 0); err != nil {
			t.Errorf("got %v", err)
		}
	})
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute, "0d": 0,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7days", "-1d", "soon", "1e9d"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q): got nil error", in)
		}
	}
}

// The settings of the team features: a public URL must be one, the mail
// server needs it, and the request log's retention is bounded.
func TestTeamSettings(t *testing.T) {
	for _, bad := range []map[string]string{
		{"AMP_PUBLIC_URL": "amp.example.com"},
		{"AMP_PUBLIC_URL": "ftp://amp.example.com"},
		{"AMP_SMTP_URL": "smtp://mail.example:587?from=amp@example.com"}, // no public URL
		{"AMP_SMTP_URL": "smtp://mail.example:587", "AMP_PUBLIC_URL": "https://amp.example.com"},
		{"AMP_REQUEST_LOG_RETENTION": "-1h"},
		{"AMP_REQUEST_LOG_RETENTION": "2161h"},
		{"AMP_REQUEST_LOG_RETENTION": "a week"},
		{"AMP_AUDIT_RETENTION": "12h"},
		{"AMP_AUDIT_RETENTION": "3651d"},
		{"AMP_AUDIT_RETENTION": "-1d"},
		{"AMP_AUDIT_RETENTION": "a year"},
	} {
		if _, err := parseServe(t, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	cfg, err := parseServe(t, map[string]string{"AMP_SMTP_URL": "smtp://u:secret@mail.example:587?from=amp@example.com", "AMP_PUBLIC_URL": "https://amp.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if v := cfg.value("SMTPURL"); strings.Contains(v, "secret") {
		t.Errorf("the SMTP password is shown: %s", v)
	}
	if v := cfg.value("AuditRetention"); v != "400d" {
		t.Errorf("default audit retention shown as %q, want 400d", v)
	}
	for v, want := range map[string]time.Duration{"0": 0, "30d": 30 * 24 * time.Hour, "9600h": 400 * 24 * time.Hour} {
		cfg, err := parseServe(t, map[string]string{"AMP_AUDIT_RETENTION": v})
		if err != nil || cfg.AuditRetention != want {
			t.Errorf("AMP_AUDIT_RETENTION=%s: %v, %v; want %v", v, cfg.AuditRetention, err, want)
		}
	}
}
