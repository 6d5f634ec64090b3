package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp"
)

// The single instance's targets (SQLite), printed next to the
// measurements.
const (
	targetContextRatio = 0.5
	targetOutcomeRatio = 0.35
	targetP99          = 3 * time.Millisecond
)

// benchOptions are amp bench's own flags.
type benchOptions struct {
	duration     time.Duration
	warmup       time.Duration
	concurrency  int
	rate         int
	rateDuration time.Duration
	rateWorkers  int
	users        int
	seed         uint64
	cpuProfile   string
	// profilePhase, if not empty, narrows cpuProfile to that closed-loop
	// phase's measured interval.
	profilePhase string
	postgresURL  string
	redisURL     string
	// pgStatsSettle is how long the PostgreSQL statistics are given to
	// settle before each reading (see pgStats.measure).
	pgStatsSettle time.Duration
	// cache is the budget of the SQLite learning cache, in bytes: that of a
	// server.
	cache int64
	// compareLimits adds a run without limits and metering.
	compareLimits bool
}

func runBench(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "bench", "[flags]", `
Measure the service on this machine. bench starts, in this one process,
(1) the real AMP service (HTTP API, service, learner, limiter) on a fresh
SQLite database in a temporary directory, listening on a loopback port, and
(2) a bare net/http server that echoes JSON bodies, as the yardstick of what
Go's HTTP stack alone costs here. Both are driven over loopback TCP by a
load generator in the same process, with keep-alive connections (one per
worker), so all three share the machine's CPUs.

Phases:
  1. closed loop, --concurrency workers each sending their next request as
     soon as the last was answered, --duration each after --warmup:
     POST /echo, POST /v1/context, the MCP tool get_context through
     POST /mcp (one stateless tools/call per request) alternating with
     POST /v1/context in short slices, so that both see the same load,
     then POST /v1/outcome (each outcome for a fresh requestId from a
     context of phase 1, reported once);
  2. fixed rate, --rate requests/second for --rate-duration: POST /echo
     (the yardstick of the machine's own tail latency), POST /v1/context,
     then POST /v1/outcome. Latency counts from when a request was due, so
     a stall is charged to every request it delays.

With --postgres-url (or AMP_TEST_POSTGRES_URL), bench then runs the
service phases again on a second service instance over PostgreSQL, in a
scratch database it creates on that server and drops afterwards, and
prints a table of the echo, SQLite and PostgreSQL figures side by side,
and the database's transactions and lock waits per request (from
pg_stat_database and pg_stat_activity). With --redis-url (or
AMP_TEST_REDIS_URL) too, both PostgreSQL instances share that Redis for
their limits, and the closed-loop phases run once more with a third
instance beside the second, on the same database, Redis and tenant: per
instance, in aggregate, and over the one instance's figures.

It prints requests/second and p50/p99 latency of each, the ratios
service/echo (targets: context >= 0.5, outcome >= 0.35), MCP get_context
over /v1/context from the alternating slices (target >= 0.7; with
the ratio of their CPU time per request) and the p99 at the
fixed rate (target <= 3ms), and, for each service phase, how many writes
the SQLite store committed per transaction (its group-commit batch size; a
commit costs as much as several writes). Each closed-loop phase also shows
the CPU time the whole process used per request (load generator included,
so compare it with the echo's): on a machine shared with other work it
varies far less than the rates do. Requests come from an enterprise
account with a rate of 1,000,000/s, so the limiter never refuses one, in
live mode, so usage metering runs as in production. Server logs are
formatted at --log-level and discarded, except warnings and errors, which
go to standard error.`, "sync", "log-format", "log-level")
	var o benchOptions
	cl.fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured `DURATION` of each closed-loop phase")
	cl.fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up `DURATION` before each closed-loop phase")
	cl.fs.IntVar(&o.concurrency, "concurrency", 16, "`N` closed-loop workers, each with its own keep-alive connection")
	cl.fs.IntVar(&o.rate, "rate", 1000, "`N` requests/second in the fixed-rate phases")
	cl.fs.DurationVar(&o.rateDuration, "rate-duration", 5*time.Second, "`DURATION` of each fixed-rate phase")
	cl.fs.IntVar(&o.rateWorkers, "rate-workers", 64, "`N` workers sending the fixed-rate requests")
	cl.fs.IntVar(&o.users, "users", 1000, "`N` distinct userIds the requests spread over")
	cl.fs.Uint64Var(&o.seed, "seed", 1, "`N`, the seed of the requests' random choices")
	cl.fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (service, echo and load generator) to `FILE`, for go tool pprof")
	cl.fs.StringVar(&o.profilePhase, "cpuprofile-phase", "", "with --cpuprofile: profile only the measured interval of this closed-loop `PHASE` (echo, context, mcp or outcome), not the whole run")
	cl.fs.BoolVar(&o.compareLimits, "compare-limits", false, "also run the closed-loop service phases on a second instance without rate limits, quotas and metering, and print what they cost")
	cl.fs.StringVar(&o.redisURL, "redis-url", "", "with --postgres-url: share this redis:// `URL` between the PostgreSQL instances and run the two-instance phases (default $AMP_TEST_REDIS_URL)")
	cl.fs.DurationVar(&o.pgStatsSettle, "pg-stats-settle", pgStatsExact, "wait `DURATION` before each reading of PostgreSQL's statistics, which backends publish up to 10s late; shorter makes the transaction counts approximate")
	cl.fs.StringVar(&o.postgresURL, "postgres-url", "", "also run the service phases on PostgreSQL, in a scratch database created on the server of this postgres:// `URL` and dropped afterwards (default $AMP_TEST_POSTGRES_URL)")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	switch {
	case o.duration <= 0 || o.rateDuration <= 0 || o.warmup < 0:
		return usageError("amp bench: durations must be positive")
	case o.concurrency < 1 || o.rateWorkers < 1 || o.users < 1:
		return usageError("amp bench: --concurrency, --rate-workers and --users must be at least 1")
	case o.rate < 1 || o.rate > 1_000_000:
		return usageError("amp bench: --rate must be between 1 and 1000000")
	}
	switch o.profilePhase {
	case "", "echo", "context", "mcp", "outcome":
	default:
		return usageError("amp bench: --cpuprofile-phase must be echo, context, mcp or outcome")
	}
	if o.profilePhase != "" && o.cpuProfile == "" {
		return usageError("amp bench: --cpuprofile-phase needs --cpuprofile")
	}
	if o.postgresURL == "" {
		o.postgresURL = e.getenv("AMP_TEST_POSTGRES_URL")
	}
	if o.redisURL == "" {
		o.redisURL = e.getenv("AMP_TEST_REDIS_URL")
	}
	if o.pgStatsSettle < 0 {
		return usageError("amp bench: --pg-stats-settle must not be negative")
	}
	if u := o.postgresURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return usageError("amp bench: --postgres-url must be a postgres:// or postgresql:// URL")
	}
	o.cache = cl.cfg.CacheBytes
	return bench(ctx, e, &cl.cfg, &o)
}

func bench(ctx context.Context, e *env, cfg *Config, o *benchOptions) error {
	dir, err := os.MkdirTemp("", "amp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir = dir
	cfg.DatabaseURL = ""
	cfg.Addr = "127.0.0.1:0"

	// The server's logs are formatted as in production, then discarded;
	// warnings and errors also go to standard error.
	log := slog.New(teeHandler{newLogger(cfg, io.Discard).Handler(), slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
	b, stop, err := startBenchInstance(ctx, cfg, o, log)
	if err != nil {
		return err
	}
	defer stop()

	echoLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	echo := &http.Server{Handler: http.HandlerFunc(echoJSON), ReadHeaderTimeout: 10 * time.Second}
	go echo.Serve(echoLn)
	defer echo.Close()

	b.echo = "http://" + echoLn.Addr().String()

	// profiled runs a closed-loop phase's measured interval, under the CPU
	// profile if --cpuprofile-phase names it.
	profiled := func(name string, run func() *loadResult) *loadResult { return run() }
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if o.profilePhase == "" {
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		} else {
			var perr error
			profiled = func(name string, run func() *loadResult) *loadResult {
				if name != o.profilePhase {
					return run()
				}
				if perr = pprof.StartCPUProfile(f); perr != nil {
					return run()
				}
				defer pprof.StopCPUProfile()
				return run()
			}
			defer func() {
				if perr != nil {
					fmt.Fprintf(e.stderr, "amp bench: CPU profile: %v\n", perr)
				}
			}()
		}
	}

	w := e.stdout
	fmt.Fprintf(w, "amp bench: %s, GOMAXPROCS %d, %d CPUs; SQLite synchronous=%s, cache %d MiB\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), cfg.Sync, o.cache>>20)
	fmt.Fprintf(w, "load generator, echo server and AMP service share this process; keep-alive connections over loopback\n\n")
	fmt.Fprintf(w, "closed loop: %d workers, %s per target after %s warm-up\n", o.concurrency, o.duration, o.warmup)

	warm := func(fn call) {
		if o.warmup > 0 {
			closedLoop(ctx, o.concurrency, o.warmup, fn)
		}
	}
	warm(b.echoCall)
	echoRes := profiled("echo", func() *loadResult { return closedLoop(ctx, o.concurrency, o.duration, b.echoCall) })
	phase := func(name string, fn call) *loadResult {
		warm(fn)
		return profiled(name, func() *loadResult {
			return b.measured(func() *loadResult { return closedLoop(ctx, o.concurrency, o.duration, fn) })
		})
	}
	ctxRes := phase("context", b.contextCall)
	// The MCP phase alternates MCP and /v1/context slices; a profile of it
	// covers both.
	var paired *pairedResult
	mcpRes := profiled("mcp", func() *loadResult { paired = b.mcpPhase(ctx); return paired.mcp })
	// Outcomes need fresh requestIds: mint, unmeasured, enough for an
	// outcome phase half again as fast as the context phase was.
	b.fill(ctx, int(1.5*ctxRes.Rate()*(o.warmup+o.duration).Seconds()))
	outRes := phase("outcome", b.outcomeCall)
	if err := ctx.Err(); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests/s\tp50\tp99\trequests\terrors\twrites/commit\tcpu/request\t")
	for _, r := range []struct {
		name string
		res  *loadResult
	}{{"echo (net/http)", echoRes}, {"POST /v1/context", ctxRes}, {"MCP get_context", mcpRes}, {"POST /v1/outcome", outRes}} {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%d\t%s\t%s\t\n", r.name, r.res.Rate(), ms(r.res.Quantile(0.50)), ms(r.res.Quantile(0.99)), r.res.OK, r.res.Errors, perCommit(r.res), r.res.CPUPerRequest())
	}
	tw.Flush()
	if outRes.Exhausted {
		fmt.Fprintf(w, "(the outcome phase ran out of fresh requestIds after %s)\n", outRes.Elapsed.Round(time.Millisecond))
	}
	ratio := func(a, b *loadResult) float64 {
		if b.Rate() == 0 {
			return 0
		}
		return a.Rate() / b.Rate()
	}
	fmt.Fprintf(w, "\ncontext/echo  %.2f  (target >= %.2f: %s)\n", ratio(ctxRes, echoRes), targetContextRatio, verdict(ratio(ctxRes, echoRes) >= targetContextRatio))
	fmt.Fprintf(w, "outcome/echo  %.2f  (target >= %.2f: %s)\n", ratio(outRes, echoRes), targetOutcomeRatio, verdict(ratio(outRes, echoRes) >= targetOutcomeRatio))
	mcpRatio(w, paired)
	fmt.Fprintln(w)

	fmt.Fprintf(w, "fixed rate: %d requests/s for %s, %d workers\n", o.rate, o.rateDuration, o.rateWorkers)
	echoFixed := fixedRate(ctx, o.rate, o.rateWorkers, o.rateDuration, b.echoCall)
	ctxFixed := b.measured(func() *loadResult { return fixedRate(ctx, o.rate, o.rateWorkers, o.rateDuration, b.contextCall) })
	b.fill(ctx, int(float64(o.rate)*o.rateDuration.Seconds()))
	outFixed := b.measured(func() *loadResult { return fixedRate(ctx, o.rate, o.rateWorkers, o.rateDuration, b.outcomeCall) })
	if err := ctx.Err(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tachieved/s\tp50\tp99\tmax\terrors\twrites/commit\tp99 <= %s\t\n", targetP99)
	for _, r := range []struct {
		name string
		res  *loadResult
	}{{"echo (net/http)", echoFixed}, {"POST /v1/context", ctxFixed}, {"POST /v1/outcome", outFixed}} {
		target := verdict(r.res.Quantile(0.99) <= targetP99 && r.res.OK > 0)
		if r.res == echoFixed {
			target = "-" // the yardstick
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.name, r.res.Rate(), ms(r.res.Quantile(0.50)), ms(r.res.Quantile(0.99)),
			ms(r.res.Quantile(1)), r.res.Errors, perCommit(r.res), target)
	}
	tw.Flush()
	if outFixed.Exhausted {
		fmt.Fprintf(w, "(the fixed-rate outcome phase ran out of fresh requestIds after %s)\n", outFixed.Elapsed.Round(time.Millisecond))
	}
	if o.compareLimits {
		if err := benchWithoutLimits(ctx, w, cfg, o, log, ctxRes, outRes); err != nil {
			return err
		}
	}
	if o.postgresURL != "" {
		sqlite := benchResults{ctx: ctxRes, out: outRes, ctxFixed: ctxFixed, outFixed: outFixed}
		if err := benchPostgres(ctx, w, cfg, o, log, echoRes, sqlite); err != nil {
			return err
		}
	}
	for _, r := range []*loadResult{echoRes, ctxRes, mcpRes, outRes, ctxFixed, outFixed} {
		if r.FirstErr != nil {
			fmt.Fprintf(w, "\nfirst error: %v\n", r.FirstErr)
			break
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// teeHandler sends each record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errA, errB error
	if t.a.Enabled(ctx, r.Level) {
		errA = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		errB = t.b.Handle(ctx, r)
	}
	return errors.Join(errA, errB)
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// echoJSON is the yardstick: it answers a valid JSON body with itself.
func echoJSON(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, amp.MaxBodyBytes))
	if err != nil || !json.Valid(body) {
		http.Error(w, `{"error":"invalid JSON"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// benchRun holds the targets' addresses and the requestIds that contexts
// returned, for outcomes to consume in order.
type benchRun struct {
	o                   *benchOptions
	store               amp.Store
	service, echo, auth string
	rands               []*rand.Rand // one per worker, so no locking

	mu   sync.Mutex
	ids  []string
	next atomic.Int64
}

// writerStats is what the SQLite store reports of its group commit.
type writerStats interface {
	WriterStats() (writes, commits int64)
}

// measured runs a phase of the service and records in its result how many
// writes the store committed per transaction meanwhile.
func (b *benchRun) measured(run func() *loadResult) *loadResult {
	ws, ok := b.store.(writerStats)
	if !ok {
		return run()
	}
	w0, c0 := ws.WriterStats()
	res := run()
	if w1, c1 := ws.WriterStats(); c1 > c0 {
		res.WritesPerCommit = float64(w1-w0) / float64(c1-c0)
	}
	return res
}

// perCommit formats a phase's writes per commit, or "-" if not known.
func perCommit(r *loadResult) string {
	if r.WritesPerCommit == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.WritesPerCommit)
}

func (b *benchRun) contextBody(worker int) []byte {
	rnd := b.rands[worker]
	user := rnd.IntN(b.o.users)
	taskTypes := [...]string{"coding", "debugging", "writing"}
	complexities := [...]string{"low", "medium", "high"}
	return []byte(`{"userId":"user_` + strconv.Itoa(user) + `","task":"build a login page","taskType":"` +
		taskTypes[rnd.IntN(3)] + `","complexity":"` + complexities[rnd.IntN(3)] + `"}`)
}

func (b *benchRun) post(ctx context.Context, hc *http.Client, url string, body []byte, auth bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", b.auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: HTTP %d: %.200s", req.URL.Path, resp.StatusCode, data)
	}
	return data, nil
}

func (b *benchRun) echoCall(ctx context.Context, hc *http.Client, worker int) error {
	_, err := b.post(ctx, hc, b.echo+"/echo", b.contextBody(worker), false)
	return err
}

func (b *benchRun) contextCall(ctx context.Context, hc *http.Client, worker int) error {
	data, err := b.post(ctx, hc, b.service+"/v1/context", b.contextBody(worker), true)
	if err != nil {
		return err
	}
	var c struct {
		RequestID string `json:"requestId"`
	}
	if err := json.Unmarshal(data, &c); err != nil || c.RequestID == "" {
		return errors.New("POST /v1/context: no requestId in the answer")
	}
	b.mu.Lock()
	b.ids = append(b.ids, c.RequestID)
	b.mu.Unlock()
	return nil
}

// available is the number of requestIds no outcome was reported for yet.
func (b *benchRun) available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ids) - min(len(b.ids), int(b.next.Load()))
}

// fill gets contexts, unmeasured, until n requestIds are available, for at
// most a minute.
func (b *benchRun) fill(ctx context.Context, n int) {
	deadline := time.Now().Add(time.Minute)
	for b.available() < n && ctx.Err() == nil && time.Now().Before(deadline) {
		if r := closedLoop(ctx, b.o.concurrency, 500*time.Millisecond, b.contextCall); r.OK == 0 {
			return // the errors will show in the measured phase
		}
	}
}

// outcomeCall reports an outcome for the next requestId no outcome was
// reported for yet.
func (b *benchRun) outcomeCall(ctx context.Context, hc *http.Client, worker int) error {
	i := int(b.next.Add(1) - 1)
	b.mu.Lock()
	if i >= len(b.ids) {
		b.mu.Unlock()
		return errExhausted
	}
	id := b.ids[i]
	b.mu.Unlock()
	rnd := b.rands[worker]
	body := `{"requestId":"` + id + `","started":` + strconv.FormatBool(rnd.IntN(10) < 8)
	if rnd.IntN(2) == 0 {
		body += `,"completed":` + strconv.FormatBool(rnd.IntN(2) == 0) +
			`,"timeToStart":` + strconv.Itoa(rnd.IntN(300)) +
			`,"flowState":` + strconv.FormatBool(rnd.IntN(3) == 0) +
			`,"satisfaction":` + strconv.FormatFloat(float64(rnd.IntN(101))/100, 'f', 2, 64)
	}
	_, err := b.post(ctx, hc, b.service+"/v1/outcome", []byte(body+"}"), true)
	return err
}
