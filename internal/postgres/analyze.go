package postgres

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Young tables. PostgreSQL plans from statistics that autovacuum refreshes
// about once a minute, once a table has grown by a tenth. A table analysed
// while it held a handful of rows and filled within that minute (a new
// deployment's first burst, or amp bench) gets estimates of a row or two
// for a whole tenant, and with them plans that find a decision by its
// primary key through another index, scanning the tenant's rows: seconds
// per outcome. So the store analyses the learning tables itself when the
// decisions it has logged since it opened reach each of analyzeAt, in a
// goroutine of its own; past those, autovacuum's pace is enough.
var defaultAnalyzeAt = []int64{1_000, 10_000, 100_000}

// analyzeTimeout bounds one ANALYZE of the learning tables.
const analyzeTimeout = time.Minute

// decisionLogged counts a logged decision and, at each of analyzeAt, asks
// the analyser to run, without waiting for it.
func (db *DB) decisionLogged() {
	db.countForAnalyze(&db.logged, 1)
}

// outcomesStored counts n stored outcomes and, when their count since
// Open passes one of analyzeAt, asks the analyser to run: the outcomes
// table fills after the decisions (a deployment's first outcomes come
// after its first contexts), so analysing at the decisions' counts alone
// can leave it with the statistics of an empty table, and the check of
// whether a decision has an outcome with a plan that scans it.
func (db *DB) outcomesStored(n int64) {
	db.countForAnalyze(&db.outcomeCount, n)
}

// countForAnalyze adds n to c and kicks the analyser if that passed one of
// analyzeAt.
func (db *DB) countForAnalyze(c *atomic.Int64, n int64) {
	if n <= 0 {
		return
	}
	now := c.Add(n)
	for _, at := range db.analyzeAt {
		if now-n < at && now >= at {
			select {
			case db.analyzeKick <- struct{}{}:
			default: // one is pending already
			}
			return
		}
	}
}

// analyzer is the goroutine that runs the ANALYZEs. Close stops it, and
// cancels an ANALYZE in progress through stopCtx.
func (db *DB) analyzer() {
	defer db.wg.Done()
	for {
		select {
		case <-db.stop:
			return
		case <-db.analyzeKick:
			ctx, cancel := context.WithTimeout(db.stopCtx, analyzeTimeout)
			start := time.Now()
			_, err := db.pool.Exec(ctx, "ANALYZE decisions, outcomes, profiles, populations")
			cancel()
			if err != nil {
				if db.stopCtx.Err() == nil {
					db.log.Warn("postgres: analyze of the learning tables failed", slog.Any("err", mapErr(err)))
				}
				continue
			}
			db.analyzed.Add(1)
			db.log.Debug("postgres: analyzed the learning tables", slog.Int64("decisions_logged", db.logged.Load()),
				slog.Duration("took", time.Since(start)))
		}
	}
}
