package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	amp "github.com/amp-protocol/amp"
)

// Group commit of outcomes. An outcome used to lock its decision and
// profile, run the learner and commit, holding the locks through the
// commit's WAL flush, in a transaction of its own: a flush and two round
// trips per outcome. Now RecordOutcome reads the decision, the user's
// profile with its version and whether the decision has an outcome, in
// one round trip and without a lock; runs apply on the caller's goroutine;
// and queues the result for one goroutine of the DB (outcomeWriter), which
// writes whatever is queued as one transaction in one round trip, like the
// decisions (groupcommit.go).
//
// Each outcome is one statement (writeOutcome), so it is stored whole or
// not at all: it updates the profile only if its version is still the one
// read (or creates it if there was none and still is none), and inserts
// the outcome and the population delta only if it did. A profile that
// changed makes the statement store nothing and RecordOutcome run apply
// again on the new profile (errStale), that time with the profile locked
// (SELECT … FOR UPDATE) in a transaction of its own, so that a contended
// user's outcomes each make progress; another outcome of the same
// decision committed meanwhile has changed the profile too, so the next
// read sees it reported. An error of one statement (the decision deleted
// meanwhile: a foreign key violation; an outcome stored anyway: a unique
// violation) aborts the transaction, and then each outcome of the batch is
// written in a transaction of its own, so that the one at fault fails
// alone, with its own error.
//
// Lock order: the profile (the UPDATE), then the decision (the foreign
// key's share lock), as DeleteProfile and ResetTestData take them; a batch
// updates its profiles sorted by key, so that two instances' batches never
// wait on each other in a cycle.

// maxOutcomeBatch caps the outcomes of one transaction.
const maxOutcomeBatch = 256

// maxOutcomeAttempts bounds how many times RecordOutcome runs apply for
// one outcome. Past the first attempt the profile is locked, so a retry
// means only that the user had no profile and another transaction created
// one meanwhile (or deleted and recreated it): that many in a row is not
// contention but something wrong, and the caller is told to retry later.
const maxOutcomeAttempts = 16

// errStale is a queued outcome whose profile changed after it was read.
var errStale = errors.New("profile changed since it was read")

// outcomeOp is a queued outcome and the channel its caller waits on.
type outcomeOp struct {
	ctx  context.Context
	t    amp.Tenant
	user string
	args []any // of writeOutcome
	id   string
	done chan error // buffered: the writer never blocks on a caller
}

// readDecisionsProfile reads the profile and its version of the user of
// decision $3 of tenant ($1, $2). It is two primary-key lookups, the
// decision's user first. Written as a join, the planner may, on young
// tables whose statistics say they hold a row or two, loop over the
// tenant's profiles and scan its decisions for each: seconds per outcome
// in amp bench.
const readDecisionsProfile = `SELECT ` + profileColumns + `, version FROM profiles
	WHERE account_id = $1 AND mode = $2
		AND user_id = (SELECT user_id FROM decisions WHERE account_id = $1 AND mode = $2 AND request_id = $3)`

// writeOutcome stores one outcome: $1–$4 its keys (account, mode, request
// id, user), $5–$13 the outcome and its population delta, $14–$19 the
// profile, $20 whether the profile existed when read and $21 its version
// then. It returns the number of outcomes stored: 0 when the profile
// changed since (see the file's comment). The casts type the parameters
// that INSERT … SELECT cannot infer from the target columns.
const writeOutcome = `WITH p AS (
		UPDATE profiles SET model = $14::bytea, manual = $15::jsonb, metadata = $16::json, outcome_count = $17::integer,
			created_at = $18::timestamptz, updated_at = $19::timestamptz, version = version + 1
		WHERE account_id = $1::text AND mode = $2::text AND user_id = $4::text AND version = $21::bigint AND $20::boolean
		RETURNING 1
	), c AS (
		INSERT INTO profiles (` + profileColumns + `)
		SELECT $1, $2, $4, $14, $15, $16, $17, $18, $19
		WHERE NOT $20
		ON CONFLICT DO NOTHING
		RETURNING 1
	), o AS (
		INSERT INTO outcomes (` + outcomeColumns + `, population_delta)
		SELECT $1, $2, $3::text, $4, $5::boolean, $6::boolean, $7::double precision, $8::boolean, $9::double precision,
			$10::json, $11::double precision, $12::timestamptz, $13::bytea
		WHERE EXISTS (SELECT 1 FROM p) OR EXISTS (SELECT 1 FROM c)
		RETURNING 1
	), x AS (
		INSERT INTO population_deltas (account_id, mode, request_id, delta)
		SELECT $1, $2, $3, $13 FROM o WHERE $13 IS NOT NULL
	)
	SELECT count(*) FROM o`

// RecordOutcome runs apply on the decision requestID of tenant t, its
// user's profile (a new one if the user has none) and the tenant's
// population as last folded, and stores the outcome it returns, the
// profile it changed and its population delta (queued in
// population_deltas for FoldPopulation), atomically, in a transaction
// group-committed with the outcomes of other requests (see outcomes.go).
// apply runs without a lock held and may run again, on the new profile,
// if the profile changed before its result was written. An outcome stored
// for the decision meanwhile makes the next run see alreadyReported; if
// apply stores an outcome anyway, the unique key yields ErrConflict. It
// returns once the transaction is committed, and so durable.
//
// A profile that changed under the first attempt is contended (outcomes
// of one user arriving together, perhaps through several instances): the
// next attempts lock it instead, in a transaction of their own, so that
// each makes progress however many compete, as every outcome did before
// outcomes were group-committed.
func (db *DB) RecordOutcome(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc) (*amp.OutcomeRecord, error) {
	for attempt := range maxOutcomeAttempts {
		if err := db.checkOpen(); err != nil {
			return nil, err
		}
		var (
			o   *amp.OutcomeRecord
			err error
		)
		if attempt == 0 {
			o, err = db.recordOutcomeGrouped(ctx, t, requestID, apply)
		} else {
			o, err = db.recordOutcomeLocked(ctx, t, requestID, apply)
		}
		if !errors.Is(err, errStale) {
			if err != nil {
				return nil, fmt.Errorf("postgres: record outcome %s: %w", requestID, err)
			}
			return o, nil
		}
	}
	return nil, fmt.Errorf("postgres: record outcome %s: %w: the profile changed %d times while the outcome was learned",
		requestID, amp.ErrUnavailable, maxOutcomeAttempts)
}

// recordOutcomeGrouped reads without a lock, runs apply and queues the
// write for the outcome writer; errStale if the profile changed in
// between.
func (db *DB) recordOutcomeGrouped(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc) (*amp.OutcomeRecord, error) {
	op, o, err := db.prepareOutcome(ctx, t, requestID, apply, false, func(b *pgx.Batch) error {
		return db.pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	if err := db.queueOutcome(ctx, op); err != nil {
		return nil, err
	}
	return o, nil
}

// recordOutcomeLocked locks the profile, runs apply and writes, in a
// transaction of its own; errStale only if the user had no profile and
// another transaction created one meanwhile.
func (db *DB) recordOutcomeLocked(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc) (*amp.OutcomeRecord, error) {
	var out *amp.OutcomeRecord
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		op, o, err := db.prepareOutcome(ctx, t, requestID, apply, true, func(b *pgx.Batch) error {
			return tx.SendBatch(ctx, b).Close()
		})
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, writeOutcome, op.args...).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return errStale
		}
		out = o
		return nil
	})
	if err == nil {
		db.outcomesStored(1)
	}
	return out, err
}

// prepareOutcome reads the decision, its user's profile and version (with
// FOR UPDATE if lock), whether it has an outcome and, unless cached, the
// tenant's population, in one batch that send runs; runs apply; and
// returns the write of its result and the outcome as stored.
func (db *DB) prepareOutcome(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc, lock bool,
	send func(*pgx.Batch) error) (*outcomeOp, *amp.OutcomeRecord, error) {
	var (
		d        *amp.Decision
		p        *amp.ProfileRecord
		version  int64
		reported bool
		mode     = string(t.Mode)
	)
	pop := db.pops.get(t)
	cached := pop != nil
	read := time.Now()
	b := &pgx.Batch{}
	b.Queue("SELECT "+decisionColumns+" FROM decisions WHERE account_id = $1 AND mode = $2 AND request_id = $3",
		t.AccountID, mode, requestID).Query(func(rows pgx.Rows) error {
		var err error
		d, err = pgx.CollectExactlyOneRow(rows, scanDecision)
		return err
	})
	// The profile before the outcome check: an outcome committed after
	// the profile was read changed the profile, so the write finds it
	// stale, whether or not this read saw the outcome.
	profileSQL := readDecisionsProfile
	if lock {
		profileSQL += " FOR UPDATE"
	}
	b.Queue(profileSQL, t.AccountID, mode, requestID).Query(func(rows pgx.Rows) error {
		var err error
		p, err = collectOptional(rows, func(row pgx.CollectableRow) (*amp.ProfileRecord, error) {
			return scanProfileVersion(row, &version)
		})
		return err
	})
	b.Queue("SELECT EXISTS (SELECT 1 FROM outcomes WHERE account_id = $1 AND mode = $2 AND request_id = $3)",
		t.AccountID, mode, requestID).QueryRow(func(row pgx.Row) error { return row.Scan(&reported) })
	if !cached {
		queuePopulationRead(b, t, &pop)
	}
	if err := send(b); err != nil {
		return nil, nil, mapErr(err)
	}
	if !cached {
		db.pops.put(pop, read)
	}
	exists := p != nil
	if !exists {
		// A new profile has zero times, like the record handed to the
		// caller, who stamps it.
		p = &amp.ProfileRecord{Tenant: t, UserID: d.UserID}
	}
	o, delta, err := apply(d, reported, p, pop)
	if err != nil {
		return nil, nil, err
	}
	if o == nil {
		return nil, nil, errors.New("outcome function returned no outcome")
	}
	// The outcome and profile belong to the decision, whatever apply
	// filled in.
	o.Tenant, o.RequestID, o.UserID = t, requestID, d.UserID
	o.ReportedAt = utc(o.ReportedAt)
	p.Tenant, p.UserID = t, d.UserID
	manual, err := encodeManual(p.Manual)
	if err != nil {
		return nil, nil, err
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	if p.Manual != nil {
		p.Manual.SetAt = utc(p.Manual.SetAt)
	}
	op := &outcomeOp{ctx: ctx, t: t, user: d.UserID, id: requestID, done: make(chan error, 1), args: []any{
		t.AccountID, mode, requestID, d.UserID,
		o.Started, o.Completed, o.TimeToStart, o.FlowState, o.Satisfaction, rawJSON(o.Metadata), o.Reward, o.ReportedAt, delta,
		p.Model, manual, rawJSON(p.Metadata), p.OutcomeCount, p.CreatedAt, p.UpdatedAt,
		exists, version,
	}}
	return op, o, nil
}

// queueOutcome hands op to the outcome writer and waits for its answer.
func (db *DB) queueOutcome(ctx context.Context, op *outcomeOp) error {
	return submit(ctx, db, db.outcomes, db.outcomesDone, op, op.done, func() error { return fmt.Errorf("%w: closed", amp.ErrUnavailable) })
}

// submit hands op to a writer goroutine through queue and waits for its
// answer on done; writerDone is closed once the writer has stopped, and
// closed gives the answer when it stopped without answering op.
func submit[T any](ctx context.Context, db *DB, queue chan<- T, writerDone <-chan struct{}, op T, done <-chan error, closed func() error) error {
	select {
	case queue <- op:
	case <-writerDone:
		return db.checkOpen()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-writerDone:
		// The writer stopped; it may have answered just before.
		select {
		case err := <-done:
			return err
		default:
			return closed()
		}
	case <-ctx.Done():
		// The write may still happen, as with any database whose answer
		// is lost.
		return ctx.Err()
	}
}

// queuePopulationRead queues the read, without a lock, of t's population
// into *pop (an empty record of t if it has none).
func queuePopulationRead(b *pgx.Batch, t amp.Tenant, pop **amp.PopulationRecord) {
	b.Queue("SELECT model, updated_at FROM populations WHERE account_id = $1 AND mode = $2",
		t.AccountID, string(t.Mode)).Query(func(rows pgx.Rows) error {
		var err error
		if *pop, err = collectOptional(rows, scanPopulation(t)); err == nil && *pop == nil {
			*pop = &amp.PopulationRecord{Tenant: t}
		}
		return err
	})
}

// scanProfileVersion is scanProfile for a row of profileColumns and the
// version.
func scanProfileVersion(row pgx.CollectableRow, version *int64) (*amp.ProfileRecord, error) {
	var (
		p        amp.ProfileRecord
		mode     string
		manual   []byte
		metadata []byte
		count    int32
	)
	if err := row.Scan(&p.AccountID, &mode, &p.UserID, &p.Model, &manual, &metadata, &count, &p.CreatedAt, &p.UpdatedAt, version); err != nil {
		return nil, err
	}
	return finishProfile(&p, mode, manual, metadata, count)
}

// outcomeWriter is the goroutine that writes queued outcomes. Close stops
// it once it has written everything queued before Close began.
func (db *DB) outcomeWriter() {
	defer db.wg.Done()
	defer close(db.outcomesDone)
	runWriter(db.outcomes, db.stop, maxOutcomeBatch, db.writeOutcomes)
}

// writeOutcomes writes ops in one transaction and answers each (see
// writeGrouped). Profiles are updated in key order (see the file's
// comment); a user's outcomes keep their order of arrival.
func (db *DB) writeOutcomes(ops []*outcomeOp) {
	slices.SortStableFunc(ops, func(a, b *outcomeOp) int {
		return cmp.Or(cmp.Compare(a.t.AccountID, b.t.AccountID), cmp.Compare(a.t.Mode, b.t.Mode), cmp.Compare(a.user, b.user))
	})
	writeGrouped(ops, func(op *outcomeOp) context.Context { return op.ctx }, db.outcomeTx,
		func(op *outcomeOp, err error) { op.done <- err })
}

// outcomeTx runs ops in one transaction, in one round trip, and returns
// each op's own result (errStale for a profile that changed), or the
// error that failed the transaction.
func (db *DB) outcomeTx(ops []*outcomeOp) ([]error, error) {
	// Not under the callers' contexts, nor under Close's: see decisionTx.
	ctx, cancel := context.WithTimeout(context.Background(), decisionTxTimeout)
	defer cancel()
	errs := make([]error, len(ops))
	b := &pgx.Batch{}
	for i, op := range ops {
		b.Queue(writeOutcome, op.args...).QueryRow(func(row pgx.Row) error {
			var n int
			if err := row.Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				errs[i] = errStale
			}
			return nil
		})
	}
	if err := db.batchTx(ctx, b); err != nil {
		return nil, db.noteWrite(err)
	}
	db.outcomeTxs.Add(1)
	db.outcomeWrites.Add(int64(len(ops)))
	stored := int64(0)
	for _, err := range errs {
		if err == nil {
			stored++
		}
	}
	db.outcomesStored(stored)
	return errs, nil
}

// batchTx runs b's statements as one transaction in one round trip
// (BEGIN, b, COMMIT, pipelined) on a connection of the pool.
func (db *DB) batchTx(ctx context.Context, b *pgx.Batch) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer func() {
		// Whatever failed, end the transaction so that the connection goes
		// back to the pool clean; one still in a transaction (the rollback
		// failed too) is discarded by Release.
		if conn.Conn().PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()
	b.QueuedQueries = slices.Insert(b.QueuedQueries, 0, &pgx.QueuedQuery{SQL: "BEGIN"})
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		// COMMIT of a failed transaction answers ROLLBACK, without error.
		if tag.String() != "COMMIT" {
			return errors.New("commit answered " + tag.String())
		}
		return nil
	})
	return mapErr(conn.SendBatch(ctx, b).Close())
}

// runWriter is the loop of a group-commit writer: it takes what is queued
// (at least one, at most max, never waiting for more) and hands it to
// write, until stop is closed; then it writes what is still queued and
// returns.
func runWriter[T any](queue <-chan T, stop <-chan struct{}, max int, write func([]T)) {
	batch := make([]T, 0, max)
	fill := func(batch []T) []T {
		for len(batch) < max {
			select {
			case op := <-queue:
				batch = append(batch, op)
			default:
				return batch
			}
		}
		return batch
	}
	for {
		select {
		case op := <-queue:
			batch = fill(append(batch[:0], op))
			write(batch)
			clear(batch)
		case <-stop:
			for {
				batch = fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				write(batch)
				clear(batch)
			}
		}
	}
}

// writeGrouped answers the ops whose callers gave up, runs the rest in one
// transaction (tx returns each op's own result, or the error that failed
// the transaction) and answers each. When the transaction fails as a
// whole, each op is run again in a transaction of its own, so that one bad
// op fails alone and the others are written.
func writeGrouped[T any](ops []T, ctxOf func(T) context.Context, tx func([]T) ([]error, error), answer func(T, error)) {
	live := ops[:0]
	for _, op := range ops {
		if err := ctxOf(op).Err(); err != nil {
			answer(op, err)
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	errs, err := tx(live)
	if err != nil && len(live) > 1 {
		for _, op := range live {
			e, err := tx([]T{op})
			if err == nil {
				err = e[0]
			}
			answer(op, err)
		}
		return
	}
	for i, op := range live {
		if err != nil {
			answer(op, err)
		} else {
			answer(op, errs[i])
		}
	}
}

// querier is what pgx.Tx and a pool's connection have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
