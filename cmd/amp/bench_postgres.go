package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchResults are the measurements of one service in amp bench.
type benchResults struct {
	ctx, out           *loadResult // closed loop
	ctxFixed, outFixed *loadResult // fixed rate
}

// benchPostgres runs bench's service phases again on a second service
// instance over PostgreSQL, in a scratch database created on the server of
// pgURL and dropped afterwards, and prints its figures beside the echo's
// and SQLite's.
func benchPostgres(ctx context.Context, w io.Writer, cfg *Config, o *benchOptions, log *slog.Logger, echo *loadResult, sqlite benchResults) error {
	dbURL, name, version, drop, err := scratchDatabase(ctx, w, o.postgresURL)
	if err != nil {
		return fmt.Errorf("amp bench: --postgres-url: %w", err)
	}
	defer drop()

	pcfg := *cfg
	pcfg.DatabaseURL = dbURL
	pcfg.RedisURL = o.redisURL
	pcfg.Addr = "127.0.0.1:0"
	b, stop, err := startBenchInstance(ctx, &pcfg, o, log)
	if err != nil {
		return err
	}
	defer stop()
	stats, err := openPGStats(ctx, o.postgresURL, name, o.pgStatsSettle)
	if err != nil {
		return fmt.Errorf("amp bench: --postgres-url: %w", err)
	}
	defer stats.Close()

	host := "?"
	if u, err := url.Parse(o.postgresURL); err == nil {
		host = u.Host
	}
	fmt.Fprintf(w, "\nPostgreSQL: %s at %s, scratch database %s (dropped afterwards); the same phases on a second service instance\n",
		version, host, name)
	var pg benchResults
	ctxPhase, err := measurePhase(ctx, o, stats, "context", b.contextCall)
	if err != nil {
		return err
	}
	pg.ctx = ctxPhase.res[0]
	b.fill(ctx, int(1.5*pg.ctx.Rate()*(o.warmup+o.duration).Seconds()))
	outPhase, err := measurePhase(ctx, o, stats, "outcome", b.outcomeCall)
	if err != nil {
		return err
	}
	pg.out = outPhase.res[0]
	pg.ctxFixed = fixedRate(ctx, o.rate, o.rateWorkers, o.rateDuration, b.contextCall)
	pg.outFixed = fixedRate(ctx, o.rate, o.rateWorkers, o.rateDuration, b.outcomeCall)
	if err := ctx.Err(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nbeside each other (closed loop: %d workers; fixed rate: %d requests/s):\n", o.concurrency, o.rate)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\ttarget\trequests/s\tp99\t/echo\tp99 at fixed rate\terrors\t")
	row := func(store, target string, closed, fixed *loadResult) {
		ratio, p99Fixed := "-", "-"
		if echo.Rate() > 0 && closed != echo {
			ratio = fmt.Sprintf("%.2f", closed.Rate()/echo.Rate())
		}
		if fixed != nil {
			p99Fixed = ms(fixed.Quantile(0.99))
		}
		errs := closed.Errors
		if fixed != nil {
			errs += fixed.Errors
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t\n", store, target, closed.Rate(), ms(closed.Quantile(0.99)), ratio, p99Fixed, errs)
	}
	row("none", "echo (net/http)", echo, nil)
	row("SQLite", "context", sqlite.ctx, sqlite.ctxFixed)
	row("PostgreSQL", "context", pg.ctx, pg.ctxFixed)
	row("SQLite", "outcome", sqlite.out, sqlite.outFixed)
	row("PostgreSQL", "outcome", pg.out, pg.outFixed)
	tw.Flush()
	fmt.Fprintf(w, "\nPostgreSQL per request (closed loop; transactions from pg_stat_database, background jobs' included%s; lock waits seen in pg_stat_activity every %s):\n", stats.note(), pgSampleEvery)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\txacts/request\tWAL flushes/request\tlock waits/request\tDB CPU µs/request\tamp CPU µs/request\t")
	for _, p := range []*pgPhase{ctxPhase, outPhase} {
		dbCPU, ampCPU := p.db.cpuPerRequest(p.res...)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", p.target, perRequest(float64(p.db.xacts), p.res...), p.db.walFlushesPerRequest(p.res...),
			perRequest(float64(p.db.lockWaits), p.res...), dbCPU, ampCPU)
	}
	tw.Flush()
	fmt.Fprintf(w, "(%s)\n", cpuNote)
	for _, r := range []*loadResult{pg.ctx, pg.out, pg.ctxFixed, pg.outFixed} {
		if r.Exhausted {
			fmt.Fprintln(w, "(a PostgreSQL outcome phase ran out of fresh requestIds before its end)")
			break
		}
	}
	for _, r := range []*loadResult{pg.ctx, pg.out, pg.ctxFixed, pg.outFixed} {
		if r.FirstErr != nil {
			fmt.Fprintf(w, "\nfirst PostgreSQL error: %v\n", r.FirstErr)
			break
		}
	}
	if o.redisURL != "" {
		return benchTwoInstances(ctx, w, &pcfg, o, log, stats, b, echo, []*pgPhase{ctxPhase, outPhase})
	}
	return nil
}

// scratchDatabase creates an empty database on the server of adminURL and
// returns its URL and name, the server's version, and a function that
// drops it.
func scratchDatabase(ctx context.Context, w io.Writer, adminURL string) (dbURL, name, version string, drop func(), err error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", "", nil, fmt.Errorf("not a postgres:// URL")
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", "", "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return "", "", "", nil, fmt.Errorf("server version: %w", err)
	}
	name = fmt.Sprintf("amp_bench_%x", rand.Uint64()) // hex: safe to splice
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", "", nil, fmt.Errorf("create a scratch database (the URL's user needs CREATEDB): %w", err)
	}
	drop = func() {
		// The bench's own context may be cancelled by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err == nil {
			defer c.Close(ctx)
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		if err != nil {
			fmt.Fprintf(w, "could not drop the scratch database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), name, "PostgreSQL " + version, drop, nil
}
