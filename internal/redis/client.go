package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/amp-protocol/amp/internal/metrics"
)

// DefaultRetryInterval is how long Redis is left alone after a failed call
// before one request probes it again.
const DefaultRetryInterval = time.Second

// DefaultPrefix starts the name of every key this package writes, so that
// a Redis server may be shared with other applications.
const DefaultPrefix = "amp:"

// Timeouts of Redis calls. A call on the request path must fail fast when
// Redis is gone, so that the request falls back instead of hanging; a
// healthy Redis on the same network answers in well under a millisecond.
const (
	dialTimeout = 500 * time.Millisecond
	ioTimeout   = 500 * time.Millisecond
)

// Client is a connection pool to one Redis server, with the bookkeeping of
// its reachability shared by the Buckets and the QuotaCounter built on it.
type Client struct {
	rdb         *goredis.Client
	prefix      string
	log         *slog.Logger
	metrics     *metrics.Metrics
	now         func() time.Time
	retry       time.Duration
	callerClock bool

	// downUntil is 0 while Redis is considered reachable; otherwise the
	// UnixNano time before which no call is tried.
	downUntil atomic.Int64
}

// Option configures Open.
type Option func(*Client)

// WithLogger sets the logger of reachability changes; discarded by default.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithMetrics sets the metrics failed calls are counted in: the set the
// server serves at /metrics. Without it, failures are only logged.
func WithMetrics(m *metrics.Metrics) Option { return func(c *Client) { c.metrics = m } }

// WithNow sets the clock of the retry interval; time.Now by default.
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithRetryInterval sets how long Redis is left alone after a failure;
// DefaultRetryInterval by default.
func WithRetryInterval(d time.Duration) Option { return func(c *Client) { c.retry = d } }

// WithPrefix sets the prefix of every key; DefaultPrefix by default.
func WithPrefix(p string) Option { return func(c *Client) { c.prefix = p } }

// WithCallerClock makes the scripts use the time the caller passes instead
// of Redis's clock: for tests that control time, or a single instance.
func WithCallerClock() Option { return func(c *Client) { c.callerClock = true } }

// Open returns a Client of the Redis server at url (redis://[user:password@]
// host:port/db, or rediss:// for TLS). It does not connect: Ping does, and
// an unreachable server at start is handled like any later outage.
//
// Calls time out after half a second and are not retried by the driver (a
// connection is dialled once per attempt): a failed call sends the request
// to the fallback (see the package documentation), which is cheaper than
// waiting.
func Open(url string, opts ...Option) (*Client, error) {
	if !strings.HasPrefix(url, "redis://") && !strings.HasPrefix(url, "rediss://") {
		return nil, errors.New("redis: the URL must start with redis:// or rediss://")
	}
	o, err := goredis.ParseURL(url)
	if err != nil {
		// The driver's message may quote the URL, password included.
		return nil, errors.New("redis: the URL is not a valid redis:// URL")
	}
	o.DialTimeout = dialTimeout
	o.ReadTimeout = ioTimeout
	o.WriteTimeout = ioTimeout
	o.PoolTimeout = ioTimeout
	o.MaxRetries = -1
	o.DialerRetries = 1
	// Timeouts come from the options above, not from each request's
	// context deadline (none is set on the request path anyway).
	o.ContextTimeoutEnabled = false
	c := &Client{
		rdb:    goredis.NewClient(o),
		prefix: DefaultPrefix,
		now:    time.Now,
		retry:  DefaultRetryInterval,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.retry <= 0 {
		c.retry = DefaultRetryInterval
	}
	driverLog.Store(c.log)
	setDriverLogger.Do(func() { goredis.SetLogger(driverLogger{}) })
	return c, nil
}

// The driver logs through a process-wide logger of its own (to standard
// error by default). Its messages repeat the errors this package already
// reports, so they go at debug level to the logger of the last Client
// opened.
var (
	driverLog       atomic.Pointer[slog.Logger]
	setDriverLogger sync.Once
)

type driverLogger struct{}

func (driverLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := driverLog.Load(); l != nil {
		l.DebugContext(ctx, "redis driver: "+fmt.Sprintf(format, v...))
	}
}

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the connections.
func (c *Client) Close() error { return c.rdb.Close() }

// key returns the name of a key of this package.
func (c *Client) key(parts ...string) string {
	return c.prefix + strings.Join(parts, ":")
}

// luaNow starts every script that needs the time: it sets now, in µs since
// the epoch, from ARGV[1] (clockArg), or from Redis's clock when that is "".
const luaNow = `
local now
if ARGV[1] == '' then
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
	now = tonumber(ARGV[1])
end`

// clockArg is the time the scripts run at: "" for Redis's own clock, else
// the caller's, in µs since the epoch.
func (c *Client) clockArg(now time.Time) string {
	if !c.callerClock {
		return ""
	}
	return fmt.Sprint(now.UnixMicro())
}

// available reports whether a call may be tried: Redis is considered up,
// or its retry interval has passed and this caller won the one probe.
func (c *Client) available() bool {
	until := c.downUntil.Load()
	if until == 0 {
		return true
	}
	now := c.now().UnixNano()
	if now < until {
		return false
	}
	// Only one caller per interval probes; the others keep falling back.
	return c.downUntil.CompareAndSwap(until, now+int64(c.retry))
}

// result records the outcome of a call and reports whether it failed for
// Redis's sake, in which case the caller falls back. A call that ended
// because its own context did is no verdict on Redis.
func (c *Client) result(ctx context.Context, op string, err error) (failed bool) {
	if err == nil || errors.Is(err, goredis.Nil) {
		if c.downUntil.Swap(0) != 0 {
			c.log.Info("redis reachable again; limits are shared by all instances again")
		}
		return false
	}
	if ctx.Err() != nil {
		return false
	}
	c.metrics.StoreError(op)
	if c.downUntil.Swap(c.now().UnixNano()+int64(c.retry)) == 0 {
		c.log.Warn("redis unreachable; rate limits and quotas are counted by each instance until it is back",
			"op", op, "err", err, "retry", c.retry.String())
	}
	return true
}
