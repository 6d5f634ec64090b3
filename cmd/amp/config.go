package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp/internal/mail"
)

// Config is every setting of amp, in one place. A setting comes from its
// flag if given, else from its AMP_* environment variable, else from the
// default. No other package reads the environment.
type Config struct {
	// Addr is the HOST:PORT serve listens on (--addr, AMP_ADDR). Port 0
	// picks a free port, which serve prints.
	Addr string
	// DataDir holds the SQLite database, amp.db (--data, AMP_DATA_DIR).
	DataDir string
	// DatabaseURL selects PostgreSQL instead of SQLite when set
	// (--database-url, AMP_DATABASE_URL).
	DatabaseURL string
	// RedisURL is the Redis server whose rate buckets and monthly quota
	// counts all instances share (--redis-url, AMP_REDIS_URL). Without it
	// each instance limits on its own, which is right for one instance.
	RedisURL string
	// Sync is SQLite's durability: "normal" survives a crash of the
	// process, "full" also a power loss, at an fsync per commit (--sync,
	// AMP_SYNC).
	Sync string
	// LogFormat is "text" or "json" (--log-format, AMP_LOG_FORMAT).
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error" (--log-level,
	// AMP_LOG_LEVEL).
	LogLevel string
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For is believed (--trusted-proxy, repeatable;
	// AMP_TRUSTED_PROXIES, comma-separated).
	TrustedProxies []netip.Prefix
	// ShutdownTimeout bounds how long serve waits for requests in flight
	// on SIGINT or SIGTERM (--shutdown-timeout, AMP_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// Signup is "open" to let anyone who reaches the dashboard sign up, or
	// "closed" for a private deployment (--signup, AMP_SIGNUP).
	Signup string
	// SecureCookies marks the dashboard's cookies Secure; set it when the
	// server is reached over TLS (--secure-cookies, AMP_SECURE_COOKIES).
	SecureCookies bool
	// WebhookAllowPrivate lets webhook endpoints point at loopback,
	// private and link-local addresses (--webhook-allow-private,
	// AMP_WEBHOOK_ALLOW_PRIVATE). Off by default: an endpoint URL makes
	// the server send requests on a user's behalf, which must not reach
	// the operator's internal network.
	WebhookAllowPrivate bool
	// SecretScanningKeys is the file or http(s) URL of a secret scanner's
	// public signing keys, which enables POST /v1/secret-scanning/github
	// (--secret-scanning-keys, AMP_SECRET_SCANNING_KEYS); for GitHub,
	// https://api.github.com/meta/public_keys/secret_scanning.
	SecretScanningKeys string
	// KeyRotationAge is the age past which a key is due for rotation and
	// key.rotation_due fires (--key-rotation-age, AMP_KEY_ROTATION_AGE).
	KeyRotationAge time.Duration
	// RateLimitSustained is how long a key must stay rate-limited before
	// rate_limit.sustained fires (--rate-limit-sustained,
	// AMP_RATE_LIMIT_SUSTAINED).
	RateLimitSustained time.Duration
	// WebhookTimeout bounds one webhook delivery attempt
	// (--webhook-timeout, AMP_WEBHOOK_TIMEOUT). A delivery claimed by an
	// instance that dies is attempted again after three timeouts.
	WebhookTimeout time.Duration
	// TraceSensitive adds request paths and queries, which may hold user
	// ids, to trace spans (--trace-sensitive, AMP_TRACE_SENSITIVE). Tracing
	// itself is turned on by the standard OTEL_* variables.
	TraceSensitive bool
	// PublicURL is the URL users reach the server at, for the links of
	// emails and of printed one-time links (--public-url, AMP_PUBLIC_URL);
	// the listening address when empty.
	PublicURL string
	// RequestLogRetention is how long the dashboard's request log keeps
	// requests (--request-log-retention, AMP_REQUEST_LOG_RETENTION); it
	// also keeps at most 10,000 per account and mode.
	RequestLogRetention time.Duration
	// AuditRetention is how long the audit log keeps events
	// (--audit-retention, AMP_AUDIT_RETENTION); 0 keeps them for ever.
	AuditRetention time.Duration
	// SMTPURL is the mail server that sends password reset links
	// (--smtp-url, AMP_SMTP_URL); without it users ask the operator.
	SMTPURL string
	// CacheBytes bounds the memory of serve's SQLite cache of profiles and
	// populations; 0 turns it off (--cache-size, AMP_CACHE_SIZE).
	CacheBytes int64
	// MaxConns caps the connections serve holds open at once; past it new
	// connections wait to be accepted (--max-conns, AMP_MAX_CONNS).
	MaxConns int
	// MaxConnsPerIP caps the connections of one client address; past it a
	// new one is closed at once. Trusted proxies are exempt
	// (--max-conns-per-ip, AMP_MAX_CONNS_PER_IP).
	MaxConnsPerIP int
	// IdleTimeout closes a keep-alive connection idle that long
	// (--idle-timeout, AMP_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// MetricsAddr is a HOST:PORT of its own for /metrics; empty serves no
	// listener of its own (--metrics-addr, AMP_METRICS_ADDR).
	MetricsAddr string
	// MetricsToken, when set, is the bearer token /metrics requires, and
	// lets /metrics be served on the API's address too (--metrics-token,
	// AMP_METRICS_TOKEN).
	MetricsToken string
	// DatabasePool is the most connections to PostgreSQL an instance
	// opens (--database-pool, AMP_DATABASE_POOL); 0 sizes the pool to the
	// machine and the server (postgres.Open). A pool_max_conns in the URL
	// wins.
	DatabasePool int
}

// Defaults of Config.
const (
	DefaultAddr                = "127.0.0.1:8080"
	DefaultDataDir             = "./amp-data"
	DefaultSync                = "normal"
	DefaultLogFormat           = "text"
	DefaultLogLevel            = "info"
	DefaultShutdownTimeout     = 15 * time.Second
	DefaultSignup              = "open"
	DefaultKeyRotationAge      = 90 * 24 * time.Hour
	DefaultRateLimitSustained  = 10 * time.Minute
	DefaultWebhookTimeout      = 10 * time.Second
	DefaultRequestLogRetention = 7 * 24 * time.Hour
	DefaultAuditRetention      = 400 * 24 * time.Hour // service.DefaultAuditRetention, which says why
	DefaultCacheBytes          = 256 << 20
	DefaultMaxConns            = 4096
	DefaultMaxConnsPerIP       = 256
	DefaultIdleTimeout         = 2 * time.Minute
)

// DefaultConfig returns the built-in defaults.
func DefaultConfig() Config {
	return Config{
		Addr:                DefaultAddr,
		DataDir:             DefaultDataDir,
		Sync:                DefaultSync,
		LogFormat:           DefaultLogFormat,
		LogLevel:            DefaultLogLevel,
		ShutdownTimeout:     DefaultShutdownTimeout,
		Signup:              DefaultSignup,
		KeyRotationAge:      DefaultKeyRotationAge,
		RateLimitSustained:  DefaultRateLimitSustained,
		WebhookTimeout:      DefaultWebhookTimeout,
		RequestLogRetention: DefaultRequestLogRetention,
		AuditRetention:      DefaultAuditRetention,
		CacheBytes:          DefaultCacheBytes,
		MaxConns:            DefaultMaxConns,
		MaxConnsPerIP:       DefaultMaxConnsPerIP,
		IdleTimeout:         DefaultIdleTimeout,
	}
}

// setting describes one Config field: its name, flag, variable and how to
// parse and check it. The table keeps the four in step.
type setting struct {
	field string // the Config field, as errors name it
	flag  string
	env   string
	doc   string
	def   string // the default, as shown in help
	meta  string // the value's placeholder in help
	set   func(c *Config, v string) error
	check func(c *Config) error
	// reset clears a list setting before the first flag that sets it, so
	// that flags replace the variable's list instead of adding to it.
	reset func(c *Config)
}

var settings = []setting{
	{
		field: "Addr", flag: "addr", env: "AMP_ADDR", meta: "HOST:PORT", def: DefaultAddr,
		doc: "address to listen on; port 0 picks a free port",
		set: func(c *Config, v string) error { c.Addr = v; return nil },
		check: func(c *Config) error {
			_, port, err := net.SplitHostPort(c.Addr)
			if err != nil {
				return errors.New("must be HOST:PORT, e.g. 127.0.0.1:8080 or :8080")
			}
			if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
				return errors.New("the port must be a number from 0 to 65535")
			}
			return nil
		},
	},
	{
		field: "DataDir", flag: "data", env: "AMP_DATA_DIR", meta: "DIR", def: DefaultDataDir,
		doc: "directory of the SQLite database (created 0700 if absent)",
		set: func(c *Config, v string) error { c.DataDir = v; return nil },
		check: func(c *Config) error {
			if c.DataDir == "" && c.DatabaseURL == "" {
				return errors.New("must not be empty")
			}
			return nil
		},
	},
	{
		field: "DatabaseURL", flag: "database-url", env: "AMP_DATABASE_URL", meta: "URL",
		doc: "postgres://… URL: use PostgreSQL instead of SQLite",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nil },
		check: func(c *Config) error {
			if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
				return errors.New("must be a postgres:// or postgresql:// URL")
			}
			return nil
		},
	},
	{
		field: "RedisURL", flag: "redis-url", env: "AMP_REDIS_URL", meta: "URL",
		doc: "redis:// or rediss:// URL: share rate limits and quotas with the other instances using it",
		set: func(c *Config, v string) error { c.RedisURL = v; return nil },
		check: func(c *Config) error {
			if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
				return errors.New("must be a redis:// or rediss:// URL")
			}
			return nil
		},
	},
	{
		field: "Sync", flag: "sync", env: "AMP_SYNC", meta: "normal|full", def: DefaultSync,
		doc:   "SQLite durability: normal survives a process crash, full also a power loss",
		set:   func(c *Config, v string) error { c.Sync = v; return nil },
		check: func(c *Config) error { return oneOf(c.Sync, "normal", "full") },
	},
	{
		field: "LogFormat", flag: "log-format", env: "AMP_LOG_FORMAT", meta: "text|json", def: DefaultLogFormat,
		doc:   "log format (logs go to standard error)",
		set:   func(c *Config, v string) error { c.LogFormat = v; return nil },
		check: func(c *Config) error { return oneOf(c.LogFormat, "text", "json") },
	},
	{
		field: "LogLevel", flag: "log-level", env: "AMP_LOG_LEVEL", meta: "LEVEL", def: DefaultLogLevel,
		doc:   "minimum level logged: debug, info, warn or error",
		set:   func(c *Config, v string) error { c.LogLevel = v; return nil },
		check: func(c *Config) error { return oneOf(c.LogLevel, "debug", "info", "warn", "error") },
	},
	{
		field: "TrustedProxies", flag: "trusted-proxy", env: "AMP_TRUSTED_PROXIES", meta: "CIDR",
		doc:   "network of a reverse proxy whose X-Forwarded-For is believed; repeatable (the variable takes a comma-separated list)",
		reset: func(c *Config) { c.TrustedProxies = nil },
		set: func(c *Config, v string) error {
			for part := range strings.SplitSeq(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				p, err := parsePrefix(part)
				if err != nil {
					return err
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			return nil
		},
	},
	{
		field: "ShutdownTimeout", flag: "shutdown-timeout", env: "AMP_SHUTDOWN_TIMEOUT", meta: "DURATION", def: DefaultShutdownTimeout.String(),
		doc: "how long to wait for requests in flight when stopping",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("must be a duration such as 15s")
			}
			c.ShutdownTimeout = d
			return nil
		},
		check: func(c *Config) error {
			if c.ShutdownTimeout <= 0 {
				return errors.New("must be positive")
			}
			return nil
		},
	},
	{
		field: "Signup", flag: "signup", env: "AMP_SIGNUP", meta: "open|closed", def: DefaultSignup,
		doc:   "whether anyone who reaches the dashboard may sign up; closed for private deployments",
		set:   func(c *Config, v string) error { c.Signup = v; return nil },
		check: func(c *Config) error { return oneOf(c.Signup, "open", "closed") },
	},
	{
		field: "SecureCookies", flag: "secure-cookies", env: "AMP_SECURE_COOKIES", meta: "true|false", def: "false",
		doc: "mark dashboard cookies Secure: set it when clients reach the server over TLS",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.SecureCookies = b
			return nil
		},
	},
	{
		field: "WebhookAllowPrivate", flag: "webhook-allow-private", env: "AMP_WEBHOOK_ALLOW_PRIVATE", meta: "true|false", def: "false",
		doc: "let webhook endpoints reach loopback, private and link-local addresses (refused by default)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.WebhookAllowPrivate = b
			return nil
		},
	},
	{
		field: "SecretScanningKeys", flag: "secret-scanning-keys", env: "AMP_SECRET_SCANNING_KEYS", meta: "FILE|URL",
		doc: "a secret scanner's public keys (GitHub: https://api.github.com/meta/public_keys/secret_scanning); enables POST /v1/secret-scanning/github",
		set: func(c *Config, v string) error { c.SecretScanningKeys = v; return nil },
	},
	{
		field: "KeyRotationAge", flag: "key-rotation-age", env: "AMP_KEY_ROTATION_AGE", meta: "DURATION", def: "90d",
		doc: "age past which a key is due for rotation (event key.rotation_due)",
		set: func(c *Config, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return err
			}
			c.KeyRotationAge = d
			return nil
		},
		check: func(c *Config) error {
			if c.KeyRotationAge < 24*time.Hour {
				return errors.New("must be at least 1d")
			}
			return nil
		},
	},
	{
		field: "RateLimitSustained", flag: "rate-limit-sustained", env: "AMP_RATE_LIMIT_SUSTAINED", meta: "DURATION", def: DefaultRateLimitSustained.String(),
		doc: "how long a key must stay rate-limited before rate_limit.sustained fires",
		set: func(c *Config, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return err
			}
			c.RateLimitSustained = d
			return nil
		},
		check: func(c *Config) error {
			if c.RateLimitSustained < time.Minute {
				return errors.New("must be at least 1m")
			}
			return nil
		},
	},
	{
		field: "WebhookTimeout", flag: "webhook-timeout", env: "AMP_WEBHOOK_TIMEOUT", meta: "DURATION", def: DefaultWebhookTimeout.String(),
		doc: "bound on one webhook delivery attempt, connection to answer (1s to 60s)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("must be a duration such as 10s")
			}
			c.WebhookTimeout = d
			return nil
		},
		check: func(c *Config) error {
			if c.WebhookTimeout < time.Second || c.WebhookTimeout > time.Minute {
				return errors.New("must be between 1s and 60s")
			}
			return nil
		},
	},
	{
		field: "TraceSensitive", flag: "trace-sensitive", env: "AMP_TRACE_SENSITIVE", meta: "true|false", def: "false",
		doc: "record request paths and queries, which may hold user ids, in trace spans",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.TraceSensitive = b
			return nil
		},
	},
	{
		field: "PublicURL", flag: "public-url", env: "AMP_PUBLIC_URL", meta: "URL",
		doc: "URL users reach the server at (https://amp.example.com), for the links of emails and printed one-time links",
		set: func(c *Config, v string) error { c.PublicURL = strings.TrimRight(v, "/"); return nil },
		check: func(c *Config) error {
			if c.PublicURL == "" {
				return nil
			}
			u, err := url.Parse(c.PublicURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				return errors.New("must be an http or https URL such as https://amp.example.com")
			}
			return nil
		},
	}, {
		field: "RequestLogRetention", flag: "request-log-retention", env: "AMP_REQUEST_LOG_RETENTION", meta: "DURATION", def: "168h",
		doc: "how long the dashboard's request log keeps requests (at most 10,000 per account and mode); 0 turns it off",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("must be a duration such as 168h")
			}
			c.RequestLogRetention = d
			return nil
		},
		check: func(c *Config) error {
			if c.RequestLogRetention < 0 || c.RequestLogRetention > 90*24*time.Hour {
				return errors.New("must be between 0 (off) and 2160h (90 days)")
			}
			return nil
		},
	}, {
		field: "AuditRetention", flag: "audit-retention", env: "AMP_AUDIT_RETENTION", meta: "DURATION", def: "400d",
		doc: "how long the dashboard's audit log keeps events, pruned hourly; 0 keeps them for ever",
		set: func(c *Config, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return errors.New("must be a duration such as 400d or 9600h")
			}
			c.AuditRetention = d
			return nil
		},
		check: func(c *Config) error {
			if c.AuditRetention != 0 && (c.AuditRetention < 24*time.Hour || c.AuditRetention > 3650*24*time.Hour) {
				return errors.New("must be 0 (kept for ever) or between 1d and 3650d")
			}
			return nil
		},
	}, {
		field: "SMTPURL", flag: "smtp-url", env: "AMP_SMTP_URL", meta: "URL",
		doc: "mail server for password reset emails: smtp://USER:PASS@HOST:587?from=ADDRESS (smtps:// for port 465); needs --public-url",
		set: func(c *Config, v string) error { c.SMTPURL = v; return nil },
		check: func(c *Config) error {
			if c.SMTPURL == "" {
				return nil
			}
			if _, err := mail.Parse(c.SMTPURL); err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), "mail: "))
			}
			if c.PublicURL == "" {
				return errors.New("needs --public-url (AMP_PUBLIC_URL), the address the emailed links point to")
			}
			return nil
		},
	}, {
		field: "CacheBytes", flag: "cache-size", env: "AMP_CACHE_SIZE", meta: "SIZE", def: "256MiB",
		doc: "memory for serve's SQLite cache of profiles and populations (e.g. 64MiB, 1GiB; 0 turns it off)",
		set: func(c *Config, v string) error {
			n, err := parseSize(v)
			if err != nil {
				return err
			}
			c.CacheBytes = n
			return nil
		},
	},
	{
		field: "MaxConns", flag: "max-conns", env: "AMP_MAX_CONNS", meta: "N", def: strconv.Itoa(DefaultMaxConns),
		doc: "connections held open at once; more wait to be accepted (keep it below the open-file limit)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("must be a whole number")
			}
			c.MaxConns = n
			return nil
		},
		check: func(c *Config) error {
			if c.MaxConns < 1 || c.MaxConns > 1_000_000 {
				return errors.New("must be between 1 and 1000000")
			}
			return nil
		},
	},
	{
		field: "MaxConnsPerIP", flag: "max-conns-per-ip", env: "AMP_MAX_CONNS_PER_IP", meta: "N", def: strconv.Itoa(DefaultMaxConnsPerIP),
		doc: "connections of one client address (trusted proxies exempt); more are closed at once",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("must be a whole number")
			}
			c.MaxConnsPerIP = n
			return nil
		},
		check: func(c *Config) error {
			if c.MaxConnsPerIP < 1 || c.MaxConnsPerIP > c.MaxConns {
				return fmt.Errorf("must be between 1 and --max-conns (%d)", c.MaxConns)
			}
			return nil
		},
	},
	{
		field: "IdleTimeout", flag: "idle-timeout", env: "AMP_IDLE_TIMEOUT", meta: "DURATION", def: DefaultIdleTimeout.String(),
		doc: "close a keep-alive connection idle this long",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("must be a duration such as 2m")
			}
			c.IdleTimeout = d
			return nil
		},
		check: func(c *Config) error {
			if c.IdleTimeout <= 0 {
				return errors.New("must be positive")
			}
			return nil
		},
	},
	{
		field: "MetricsAddr", flag: "metrics-addr", env: "AMP_METRICS_ADDR", meta: "HOST:PORT",
		doc: "serve /metrics on this address of its own (e.g. 127.0.0.1:9090)",
		set: func(c *Config, v string) error { c.MetricsAddr = v; return nil },
		check: func(c *Config) error {
			if c.MetricsAddr == "" {
				return nil
			}
			if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
				return errors.New("must be HOST:PORT, e.g. 127.0.0.1:9090")
			}
			return nil
		},
	},
	{
		field: "MetricsToken", flag: "metrics-token", env: "AMP_METRICS_TOKEN", meta: "TOKEN",
		doc: "bearer token /metrics requires; with it /metrics is served on --addr too (prefer the variable: flags show in ps)",
		set: func(c *Config, v string) error { c.MetricsToken = v; return nil },
		check: func(c *Config) error {
			if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
				return errors.New("must be at least 16 characters")
			}
			return nil
		},
	},
	{
		field: "DatabasePool", flag: "database-pool", env: "AMP_DATABASE_POOL", meta: "N", def: "0",
		doc: "most PostgreSQL connections an instance opens; 0: 4 per core, at most a quarter of the server's max_connections",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("must be a whole number")
			}
			c.DatabasePool = n
			return nil
		},
		check: func(c *Config) error {
			if c.DatabasePool < 0 || c.DatabasePool > 1024 {
				return errors.New("must be between 0 and 1024")
			}
			return nil
		},
	},
}

// parseSize reads a byte count: a whole number, optionally followed by
// KiB, MiB or GiB.
func parseSize(v string) (int64, error) {
	num, mult := v, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return 0, errors.New("must be a size such as 64MiB, 1GiB or 0")
	}
	return n * mult, nil
}

// parsePrefix reads a CIDR, or a bare address as a one-address network.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a CIDR such as 10.0.0.0/8", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
}

func settingFor(flag string) *setting {
	for i := range settings {
		if settings[i].flag == flag {
			return &settings[i]
		}
	}
	panic("amp: no setting for flag " + flag)
}

// FieldError is an invalid setting, named by its Config field, flag and
// environment variable.
type FieldError struct {
	Field string
	Flag  string
	Env   string
	Value string
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid %s %q (--%s or %s): %v", e.Field, e.Value, e.Flag, e.Env, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// ApplyEnv overrides c's fields with the AMP_* variables that are set.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	for _, s := range settings {
		v := getenv(s.env)
		if v == "" {
			continue
		}
		if err := s.set(c, v); err != nil {
			return &FieldError{Field: s.field, Flag: s.flag, Env: s.env, Value: v, Err: err}
		}
	}
	return nil
}

// Validate checks every field and returns the first invalid one as a
// *FieldError.
func (c *Config) Validate() error { return c.validate(nil) }

// validate checks the fields whose flags are listed, or all when flags is
// nil: a command is not refused for a setting it does not use.
func (c *Config) validate(flags []string) error {
	for _, s := range settings {
		if s.check == nil || (flags != nil && !slices.Contains(flags, s.flag)) {
			continue
		}
		if err := s.check(c); err != nil {
			return &FieldError{Field: s.field, Flag: s.flag, Env: s.env, Value: c.value(s.field), Err: err}
		}
	}
	return nil
}

func (c *Config) value(field string) string {
	switch field {
	case "Addr":
		return c.Addr
	case "DataDir":
		return c.DataDir
	case "DatabaseURL":
		return redactURL(c.DatabaseURL)
	case "RedisURL":
		return redactURL(c.RedisURL)
	case "Sync":
		return c.Sync
	case "LogFormat":
		return c.LogFormat
	case "LogLevel":
		return c.LogLevel
	case "ShutdownTimeout":
		return c.ShutdownTimeout.String()
	case "Signup":
		return c.Signup
	case "SecureCookies":
		return strconv.FormatBool(c.SecureCookies)
	case "WebhookAllowPrivate":
		return strconv.FormatBool(c.WebhookAllowPrivate)
	case "SecretScanningKeys":
		return c.SecretScanningKeys
	case "KeyRotationAge":
		return c.KeyRotationAge.String()
	case "RateLimitSustained":
		return c.RateLimitSustained.String()
	case "WebhookTimeout":
		return c.WebhookTimeout.String()
	case "TraceSensitive":
		return strconv.FormatBool(c.TraceSensitive)
	case "PublicURL":
		return c.PublicURL
	case "SMTPURL":
		return redactURL(c.SMTPURL)
	case "RequestLogRetention":
		return c.RequestLogRetention.String()
	case "AuditRetention":
		if c.AuditRetention%(24*time.Hour) == 0 {
			return strconv.FormatInt(int64(c.AuditRetention/(24*time.Hour)), 10) + "d"
		}
		return c.AuditRetention.String()
	case "CacheBytes":
		return strconv.FormatInt(c.CacheBytes, 10)
	case "MaxConns":
		return strconv.Itoa(c.MaxConns)
	case "MaxConnsPerIP":
		return strconv.Itoa(c.MaxConnsPerIP)
	case "IdleTimeout":
		return c.IdleTimeout.String()
	case "MetricsAddr":
		return c.MetricsAddr
	case "MetricsToken":
		return "(hidden)"
	case "DatabasePool":
		return strconv.Itoa(c.DatabasePool)
	}
	return ""
}

// redactURL hides a database URL's password, so that errors may quote it.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	user, _, hasPass := strings.Cut(userinfo, ":")
	if !hasPass {
		return u
	}
	return scheme + "://" + user + ":xxxxx@" + host
}

// slogLevel is LogLevel as a slog.Level; Validate has checked it.
func (c *Config) slogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
