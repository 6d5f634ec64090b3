package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeFunc is one write: it runs on the writer goroutine, inside the
// batch's transaction and its own savepoint. Returning an error rolls back
// everything it did. It must not call write itself (the writer would wait
// for itself), and it should be quick: every queued write waits for it.
type writeFunc func(w *writer) error

// op is a queued write and the channel its caller waits on.
type op struct {
	ctx context.Context
	fn  writeFunc
	// noSavepoint: run fn without a savepoint (see writeNoSavepoint).
	noSavepoint bool
	// onCommit is what fn asked, through writer.afterCommit, to run once
	// its changes have committed.
	onCommit func()
	err      error
	done     chan error // buffered: the writer never blocks on a caller
}

// ops are recycled, done channel included, when their caller has taken the
// answer; an op whose caller gave up is left to the garbage collector,
// since the writer may still answer it.
var opPool = sync.Pool{New: func() any { return &op{done: make(chan error, 1)} }}

// write queues fn and waits until the transaction it ran in has committed
// (or until ctx ends: the write may then still commit later, as with any
// database whose answer is lost). fn runs inside its own savepoint, so that
// its failure undoes all it did and nothing else.
func (db *DB) write(ctx context.Context, fn writeFunc) error {
	return db.queue(ctx, fn, false)
}

// writeNoSavepoint is write for an fn that fails, if at all, before it
// changes anything (by an error of its own, or a constraint violation of
// its first change, which SQLite undoes by itself). It spares the
// savepoint's two statements, which would otherwise be a large share of the
// writer's work for the commonest writes. Should fn fail after a change
// after all (an I/O error, a panic), the whole transaction is rolled back:
// the writes before it in the batch fail too, and those after it are run
// again in a new transaction.
func (db *DB) writeNoSavepoint(ctx context.Context, fn writeFunc) error {
	return db.queue(ctx, fn, true)
}

func (db *DB) queue(ctx context.Context, fn writeFunc, noSavepoint bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := opPool.Get().(*op)
	o.ctx, o.fn, o.noSavepoint = ctx, fn, noSavepoint
	db.mu.RLock()
	if db.closed.Load() {
		db.mu.RUnlock()
		o.ctx, o.fn, o.onCommit = nil, nil, nil
		opPool.Put(o)
		return errClosed
	}
	select {
	case db.ops <- o:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		o.ctx, o.fn, o.onCommit = nil, nil, nil
		opPool.Put(o)
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		o.ctx, o.fn, o.onCommit = nil, nil, nil
		opPool.Put(o)
		return err
	case <-ctx.Done():
		// An answer that is already there wins over the cancellation.
		select {
		case err := <-o.done:
			o.ctx, o.fn, o.onCommit = nil, nil, nil
			opPool.Put(o)
			return err
		default:
			return ctx.Err()
		}
	}
}

// run is the writer goroutine. It takes whatever is queued, up to maxBatch
// writes, runs it as one transaction, and repeats; it never waits for more
// writes to arrive than are already queued, so an idle store commits a lone
// write at once. On Close it drains the queue before stopping.
func (db *DB) run() {
	defer close(db.stopped)
	batch := make([]*op, 0, db.maxBatch)
	for {
		select {
		case o := <-db.ops:
			batch = db.gather(append(batch[:0], o))
			db.runBatch(batch)
			clear(batch) // let answered ops go
			if len(db.ops) == 0 {
				db.catchUp()
			}
		case <-db.closing:
			// closed is set and Close has released the lock, so nothing
			// can be queued any more: what is queued is all there is.
			for {
				batch = db.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				db.runBatch(batch)
				clear(batch)
			}
		}
	}
}

// gather fills batch with what is queued and with what goroutines ready to
// run are about to queue: it yields the processor up to gatherYields times
// while that makes the queue grow. A goroutine that was about to queue a
// write (an HTTP handler past its decoding, say) then does so before this
// commit rather than after it; an idle store yields once, to nobody, and
// commits a lone write at once.
func (db *DB) gather(batch []*op) []*op {
	const gatherYields = 4
	for range gatherYields {
		n := len(db.ops)
		runtime.Gosched()
		if len(db.ops) == n {
			break
		}
	}
	return db.fill(batch)
}

// fill appends to batch whatever is queued, without waiting, up to maxBatch.
func (db *DB) fill(batch []*op) []*op {
	for len(batch) < db.maxBatch {
		select {
		case o := <-db.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// runBatch runs ops in one transaction and answers each of them once it has
// committed or failed.
func (db *DB) runBatch(ops []*op) {
	// A caller that gave up before its write started gets its context's
	// error and nothing is done for it.
	live := ops[:0]
	for _, o := range ops {
		if err := o.ctx.Err(); err != nil {
			o.done <- err
			continue
		}
		live = append(live, o)
	}
	for len(live) > 0 {
		live = db.runTx(live)
	}
}

// runTx runs ops in one transaction, answers the ops it finished with, and
// returns those it did not get to because the transaction broke under them
// (they go into a new transaction).
func (db *DB) runTx(ops []*op) (rest []*op) {
	w := db.w
	if err := w.execNoArgs(w.begin); err != nil {
		answer(ops, db.mapErr("begin", err))
		return nil
	}
	// A lone write needs no savepoint: the transaction is its savepoint.
	single := len(ops) == 1
	for i, o := range ops {
		savepoint := !single && !o.noSavepoint
		if savepoint {
			if err := w.execNoArgs(w.savepoint); err != nil {
				return db.abort(ops, i, err)
			}
		}
		w.changed = 0
		w.onCommit = nil
		var panicked bool
		o.err, panicked = w.runOp(o, db.log)
		o.onCommit = w.onCommit
		if o.err != nil {
			// Its changes are undone: so must be what it would have done
			// after them.
			o.onCommit = nil
		}
		switch {
		case single:
			if o.err != nil {
				w.rollbackTx()
				answer(ops, o.err)
				return nil
			}
		case savepoint:
			if o.err != nil {
				if err := w.execNoArgs(w.rollbackTo); err != nil {
					// Some errors (a full disk, an I/O error) roll the
					// whole transaction back, savepoints included.
					return db.abort(ops, i+1, err)
				}
			}
			if err := w.execNoArgs(w.release); err != nil {
				return db.abort(ops, i+1, err)
			}
		case o.err != nil && (panicked || w.changed > 0 || !stmtScoped(o.err)):
			// Without a savepoint, only a failure before any change, and
			// that SQLite confines to its statement, leaves the
			// transaction as the op found it.
			return db.abort(ops, i+1, o.err)
		}
	}
	if err := w.execNoArgs(w.commit); err != nil {
		w.rollbackTx()
		answer(ops, db.mapErr("commit", err))
		return nil
	}
	db.batches.Add(1)
	committed := 0
	for _, o := range ops {
		if o.err == nil {
			committed++
		}
	}
	db.writes.Add(int64(committed))
	db.kickCheckpoint(len(ops))
	// Before the answers, so that a caller who got one reads its own
	// write from the cache.
	for _, o := range ops {
		if o.onCommit != nil {
			o.onCommit()
			o.onCommit = nil
		}
	}
	for _, o := range ops {
		o.done <- o.err
	}
	return nil
}

// WriterStats reports how many writes the writer goroutine has committed
// (a write that failed and was rolled back is not counted) and in how many
// transactions. Their ratio is the group commit's batch size, which decides
// what a write costs: a commit costs as much as several writes.
func (db *DB) WriterStats() (writes, commits int64) {
	return db.writes.Load(), db.batches.Load()
}

// abort rolls back a transaction that can no longer commit: the first n ops
// ran in it and fail with err; the others are returned to run again.
func (db *DB) abort(ops []*op, n int, err error) []*op {
	db.w.rollbackTx()
	err = db.mapErr("transaction", err)
	if n == 0 {
		// Not even the first write could start: retrying would loop.
		answer(ops, err)
		return nil
	}
	db.log.Error("sqlite: write transaction aborted", slog.Int("writes", n), slog.Any("err", err))
	for _, o := range ops[:n] {
		if o.err != nil {
			o.done <- o.err
		} else {
			o.done <- err
		}
	}
	return ops[n:]
}

func answer(ops []*op, err error) {
	for _, o := range ops {
		o.done <- err
	}
}

// runOp runs one write. A panic in it (say, in an OutcomeFunc) fails that
// write only, instead of killing the writer and with it every later write.
func (w *writer) runOp(o *op, log *slog.Logger) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("sqlite: write panicked", slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			err, panicked = fmt.Errorf("sqlite: write panicked: %v", r), true
		}
	}()
	return o.fn(w), false
}

// stmtScoped reports whether a write's failure undid at most its own failed
// statement: an error made in Go (such as amp.ErrNotFound for an update
// that matched no row) or a constraint violation, which SQLite rolls back
// by the statement. Any other SQLite error (a full disk, an I/O error, an
// interrupt) may have ended the transaction.
func stmtScoped(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return true
	}
	return se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// writer owns the writer connection and the statements prepared on it. Only
// the writer goroutine (and Open, before starting it) uses it.
type writer struct {
	conn  *sql.Conn
	stmts []*sql.Stmt
	// changed counts the statements run by exec that changed rows, since
	// the current write began.
	changed int
	// onCommit is set by the current write through afterCommit.
	onCommit func()

	begin, commit, rollback, savepoint, release, rollbackTo *sql.Stmt

	insAccount, updAccount                    *sql.Stmt
	insKey, updKey, touchKey, keyExists       *sql.Stmt
	insDecision, insProfileIfAbsent           *sql.Stmt
	decisionForOutcome, profile               *sql.Stmt
	insOutcome, upsertProfile, upsertPopulate *sql.Stmt
	delProfile                                *sql.Stmt
	delUserOutcomes, delUserDecisions         *sql.Stmt
	resetProfiles, resetOutcomes              *sql.Stmt
	resetDecisions, resetPopulations          *sql.Stmt
	setSetting                                *sql.Stmt
	outcomeCheck, insDelta, resetDeltas       *sql.Stmt
	insOutcomeChecked, insReqLog              *sql.Stmt
	insReqLogChunk                            *sql.Stmt
	foldUpdate, foldInsert, deleteFolded      *sql.Stmt
}

// bg is the context of the writer's statements. Callers' contexts are
// checked before their write starts; cancelling one mid-write must not
// interrupt the shared transaction. It also spares the driver a watcher
// goroutine per statement.
var bg = context.Background()

func newWriter(ctx context.Context, conn *sql.Conn) (*writer, error) {
	w := &writer{conn: conn}
	for _, s := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT op"},
		{&w.release, "RELEASE op"},
		{&w.rollbackTo, "ROLLBACK TO op"},
		{&w.insAccount, sqlInsertAccount},
		{&w.updAccount, sqlUpdateAccount},
		{&w.insKey, sqlInsertKey},
		{&w.updKey, sqlUpdateKey},
		{&w.touchKey, sqlTouchKey},
		{&w.keyExists, sqlKeyExists},
		{&w.insDecision, sqlInsertDecision},
		{&w.insProfileIfAbsent, sqlInsertProfileIfAbsent},
		{&w.decisionForOutcome, sqlDecisionForOutcome},
		{&w.profile, sqlProfile},
		{&w.insOutcome, sqlInsertOutcome},
		{&w.upsertProfile, sqlUpsertProfile},
		{&w.upsertPopulate, sqlUpsertPopulation},
		{&w.delProfile, sqlDeleteProfile},
		{&w.delUserOutcomes, sqlDeleteUserOutcomes},
		{&w.delUserDecisions, sqlDeleteUserDecisions},
		{&w.resetProfiles, "DELETE FROM profiles WHERE mode = 'test'"},
		{&w.resetOutcomes, "DELETE FROM outcomes WHERE mode = 'test'"},
		{&w.resetDecisions, "DELETE FROM decisions WHERE mode = 'test'"},
		{&w.resetPopulations, "DELETE FROM populations WHERE mode = 'test'"},
		{&w.setSetting, sqlSetSetting},
		{&w.outcomeCheck, sqlOutcomeCheck},
		{&w.insOutcomeChecked, sqlInsertOutcomeChecked},
		{&w.insReqLog, sqlInsReqLog},
		{&w.insReqLogChunk, sqlInsReqLogChunk},
		{&w.insDelta, sqlInsertDelta},
		{&w.resetDeltas, "DELETE FROM population_deltas WHERE mode = 'test'"},
		{&w.foldUpdate, sqlFoldUpdate},
		{&w.foldInsert, sqlFoldInsert},
		{&w.deleteFolded, sqlDeleteFolded},
	} {
		st, err := conn.PrepareContext(ctx, s.query)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", s.query, err)
		}
		*s.dst = st
		w.stmts = append(w.stmts, st)
	}
	return w, nil
}

func (w *writer) close() error {
	var errs []error
	for _, s := range w.stmts {
		errs = append(errs, s.Close())
	}
	w.stmts = nil
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

func (w *writer) execNoArgs(s *sql.Stmt) error {
	_, err := s.ExecContext(bg)
	return err
}

// exec runs s and returns the number of rows it changed.
func (w *writer) exec(s *sql.Stmt, args ...any) (int64, error) {
	if err := checkText(args); err != nil {
		return 0, err
	}
	res, err := s.ExecContext(bg, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if n > 0 {
		w.changed++
	}
	return n, err
}

// afterCommit makes f run on the writer goroutine once the current write
// has committed, and not at all if it is rolled back. It is how the
// write-through cache stays in step with what is durable: changing it
// inside the write would show readers rows that may yet be rolled back.
// A write calls it at most once.
func (w *writer) afterCommit(f func()) { w.onCommit = f }

// rollbackTx ends the transaction, if SQLite has not already done so.
func (w *writer) rollbackTx() {
	// An error here means there was no transaction left to roll back.
	_, _ = w.rollback.ExecContext(bg)
}
