package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// What amp bench measures of the PostgreSQL server itself: how many
// transactions it ran and how many lock waits it saw per request, so that
// the store's round trips and contention show beside its speed.

// pgSampleEvery is how often pgStats looks for backends waiting on a lock:
// waits shorter than this may go unseen.
const pgSampleEvery = 2 * time.Millisecond

// pgStatsExact is the settle time from which pgStats's transaction counts
// are exact (see pgStats.measure).
const pgStatsExact = 11 * time.Second

// pgStats watches one database through a connection to another database
// of the same server (the bench's admin URL), so that its own queries do
// not count among the watched database's transactions.
type pgStats struct {
	conn   *pgx.Conn
	db     string // the watched database
	settle time.Duration
	// postmaster is the server's process if it runs on this machine and
	// /proc shows it (Linux), else 0: then no CPU time is reported.
	postmaster int
}

func openPGStats(ctx context.Context, adminURL, db string, settle time.Duration) (*pgStats, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect for statistics: %w", err)
	}
	s := &pgStats{conn: conn, db: db, settle: settle}
	var backend int32
	var host string
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid(), coalesce(inet_server_addr()::text, '')").Scan(&backend, &host); err == nil &&
		(host == "" || strings.HasPrefix(host, "127.") || host == "::1/128" || strings.HasPrefix(host, "127.0.0.1")) {
		// The server is on this machine (a Unix socket or loopback); its
		// backend's parent is the postmaster.
		pm := postmasterOf(int(backend))
		if _, ok := serverCPU(pm); ok {
			s.postmaster = pm
		}
	}
	return s, nil
}

func (s *pgStats) Close() { s.conn.Close(context.Background()) }

// note says how far the transaction counts can be trusted.
func (s *pgStats) note() string {
	if s.settle >= pgStatsExact {
		return ""
	}
	return fmt.Sprintf("; approximate: --pg-stats-settle %s is under %s", s.settle, pgStatsExact)
}

// xacts returns the watched database's committed and rolled-back
// transactions.
func (s *pgStats) xacts(ctx context.Context) (int64, error) {
	var n int64
	err := s.conn.QueryRow(ctx, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", s.db).Scan(&n)
	return n, err
}

// walSyncs returns how many times the server has flushed its WAL to disk
// (pg_stat_wal, every database's; -1 where the server has no pg_stat_wal,
// before PostgreSQL 14).
func (s *pgStats) walSyncs(ctx context.Context) int64 {
	var n int64
	if err := s.conn.QueryRow(ctx, "SELECT wal_sync FROM pg_stat_wal").Scan(&n); err != nil {
		return -1
	}
	return n
}

// dbLoad is what the database did during a phase.
type dbLoad struct {
	xacts     int64 // transactions, background jobs' included
	lockWaits int   // distinct transactions seen waiting for a lock
	// walSyncs is how many times the server flushed its WAL: the commits
	// that waited for the disk, shared by transactions committed together
	// (-1: unknown).
	walSyncs int64
	// dbCPU is the server's CPU time during the phase (every database's:
	// a server shared with other work overstates it), and hasCPU whether
	// it was measured; ampCPU is this process's: the instances' and the
	// load generator's.
	dbCPU, ampCPU time.Duration
	hasCPU        bool
}

// walFlushesPerRequest formats the phase's WAL flushes per request, or "-".
func (l dbLoad) walFlushesPerRequest(rs ...*loadResult) string {
	if l.walSyncs < 0 {
		return "-"
	}
	return perRequest(float64(l.walSyncs), rs...)
}

// cpuPerRequest formats the phase's CPU times per request: the
// database's (or "-") and this process's, in µs.
func (l dbLoad) cpuPerRequest(rs ...*loadResult) (db, amp string) {
	reqs := 0
	for _, r := range rs {
		reqs += r.OK
	}
	if reqs == 0 {
		return "-", "-"
	}
	db = "-"
	if l.hasCPU {
		db = fmt.Sprintf("%.0f", float64(l.dbCPU.Microseconds())/float64(reqs))
	}
	return db, fmt.Sprintf("%.0f", float64(l.ampCPU.Microseconds())/float64(reqs))
}

// perRequest formats n per request of the phases in rs.
func perRequest(n float64, rs ...*loadResult) string {
	reqs := 0
	for _, r := range rs {
		reqs += r.OK
	}
	if reqs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", n/float64(reqs))
}

// measure runs run and returns what the database did meanwhile. Backends
// publish their transaction counts to pg_stat_database when idle, and at
// most once a second, or ten seconds later when a flush came too soon; so
// measure waits the settle time before each reading, which makes the count
// exact when settle exceeds that (the default does) and approximate when it
// is shorter. Lock waits are sampled every pgSampleEvery from
// pg_stat_activity (wait_event_type Lock: row, tuple and transaction locks).
func (s *pgStats) measure(ctx context.Context, run func()) (dbLoad, error) {
	var l dbLoad
	sleep(ctx, s.settle)
	x0, err := s.xacts(ctx)
	if err != nil {
		return l, err
	}
	w0 := s.walSyncs(ctx)
	type waiter struct {
		pid   int32
		since time.Time
	}
	seen := make(map[waiter]bool)
	stop := make(chan struct{})
	var (
		wg      sync.WaitGroup
		sampErr error
	)
	wg.Go(func() {
		t := time.NewTicker(pgSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			rows, _ := s.conn.Query(ctx, `SELECT pid, coalesce(xact_start, query_start) FROM pg_stat_activity
				WHERE datname = $1 AND wait_event_type = 'Lock'`, s.db)
			var w waiter
			_, err := pgx.ForEachRow(rows, []any{&w.pid, &w.since}, func() error {
				seen[w] = true
				return nil
			})
			if err != nil {
				sampErr = err
				return
			}
		}
	})
	db0, ok0 := serverCPU(s.postmaster)
	amp0 := processCPU()
	run()
	db1, ok1 := serverCPU(s.postmaster)
	l.ampCPU = processCPU() - amp0
	l.dbCPU, l.hasCPU = db1-db0, ok0 && ok1
	close(stop)
	wg.Wait()
	if sampErr != nil {
		return l, fmt.Errorf("sample pg_stat_activity: %w", sampErr)
	}
	sleep(ctx, s.settle)
	x1, err := s.xacts(ctx)
	if err != nil {
		return l, err
	}
	l.xacts, l.lockWaits, l.walSyncs = x1-x0, len(seen), -1
	if w1 := s.walSyncs(ctx); w0 >= 0 && w1 >= w0 {
		l.walSyncs = w1 - w0
	}
	return l, nil
}

// cpuNote says what the CPU columns measure.
const cpuNote = "WAL flushes: pg_stat_wal's wal_sync, every database's; DB CPU: the server's processes during the phase, read from /proc when it runs on this machine, every database's work included; " +
	"amp CPU: this process's, load generator included"

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// pgPhase is one measured PostgreSQL phase: the load of each instance that
// took part, and the database's.
type pgPhase struct {
	target string
	res    []*loadResult // one per instance
	db     dbLoad
}

// aggregate is the combined rate of the phase's instances.
func (p *pgPhase) aggregate() float64 {
	r := 0.0
	for _, res := range p.res {
		r += res.Rate()
	}
	return r
}

// measurePhase warms every instance up with fn, then runs it on all of
// them at once, each with its own o.concurrency workers, under s.
func measurePhase(ctx context.Context, o *benchOptions, s *pgStats, target string, fns ...call) (*pgPhase, error) {
	p := &pgPhase{target: target, res: make([]*loadResult, len(fns))}
	all := func(d time.Duration, out []*loadResult) {
		var wg sync.WaitGroup
		for i, fn := range fns {
			wg.Go(func() {
				r := closedLoop(ctx, o.concurrency, d, fn)
				if out != nil {
					out[i] = r
				}
			})
		}
		wg.Wait()
	}
	if o.warmup > 0 {
		all(o.warmup, nil)
	}
	var err error
	p.db, err = s.measure(ctx, func() { all(o.duration, p.res) })
	return p, err
}

// benchTwoInstances runs the closed-loop phases on a second instance, peer
// of a, on the same PostgreSQL database and Redis, both instances loaded at
// once, and prints per instance and in aggregate what they did beside what
// a did alone (one). Each instance gets its own o.concurrency workers, as
// it would its own clients.
func benchTwoInstances(ctx context.Context, w io.Writer, cfg *Config, o *benchOptions, log *slog.Logger, s *pgStats, a *benchRun, echo *loadResult, one []*pgPhase) error {
	srv, store, stop, err := startBenchServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	// The same account and key: one tenant, served by both instances.
	b := newBenchRun(o, store, srv.baseURL(), a.auth)
	ctxPhase, err := measurePhase(ctx, o, s, "context", a.contextCall, b.contextCall)
	if err != nil {
		return err
	}
	for i, r := range []*benchRun{a, b} {
		r.fill(ctx, int(1.5*ctxPhase.res[i].Rate()*(o.warmup+o.duration).Seconds()))
	}
	outPhase, err := measurePhase(ctx, o, s, "outcome", a.outcomeCall, b.outcomeCall)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntwo instances on one PostgreSQL database and one Redis, one tenant (closed loop: %d workers per instance):\n", o.concurrency)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tinstances\trequests/s\tp50\tp99\t/echo\t/one instance\txacts/request\tWAL flushes/request\tlock waits/request\tDB CPU µs/request\tamp CPU µs/request\terrors\t")
	for i, two := range []*pgPhase{ctxPhase, outPhase} {
		single := one[i]
		row := func(name string, rate float64, res []*loadResult, db, waits string, load *dbLoad) {
			dbCPU, ampCPU, flushes := "-", "-", "-"
			if load != nil {
				dbCPU, ampCPU = load.cpuPerRequest(res...)
				flushes = load.walFlushesPerRequest(res...)
			}
			p50, p99, errs := "-", "-", 0
			if len(res) == 1 {
				p50, p99 = ms(res[0].Quantile(0.5)), ms(res[0].Quantile(0.99))
			}
			for _, r := range res {
				errs += r.Errors
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%d\t\n", two.target, name, rate, p50, p99,
				rate/max(echo.Rate(), 1), rate/max(single.aggregate(), 1), db, flushes, waits, dbCPU, ampCPU, errs)
		}
		row("one", single.aggregate(), single.res, perRequest(float64(single.db.xacts), single.res...), perRequest(float64(single.db.lockWaits), single.res...), &single.db)
		row("A of two", two.res[0].Rate(), two.res[:1], "-", "-", nil)
		row("B of two", two.res[1].Rate(), two.res[1:], "-", "-", nil)
		row("A+B", two.aggregate(), two.res, perRequest(float64(two.db.xacts), two.res...), perRequest(float64(two.db.lockWaits), two.res...), &two.db)
	}
	tw.Flush()
	fmt.Fprintf(w, "(xacts: transactions in pg_stat_database, background jobs' included%s; lock waits: transactions seen waiting for a lock in pg_stat_activity, sampled every %s; %s)\n", s.note(), pgSampleEvery, cpuNote)
	for _, p := range []*pgPhase{ctxPhase, outPhase} {
		for _, r := range p.res {
			if r.FirstErr != nil {
				fmt.Fprintf(w, "first error with two instances: %v\n", r.FirstErr)
				return nil
			}
		}
	}
	return nil
}
