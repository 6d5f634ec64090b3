package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

// Group commit of decisions. Every /v1/context logs a decision, and a
// commit costs a WAL flush and a round trip; so SaveDecision queues its
// decision, and one goroutine of the DB (decisionWriter) writes whatever is
// queued as one transaction sent in one round trip (BEGIN, one statement
// per decision, COMMIT, pipelined), then answers each caller. It never
// waits for more decisions than are already queued: an idle store writes a
// lone decision at once, in the same single round trip as before.
//
// A duplicate request id must fail alone, so each statement inserts with
// ON CONFLICT DO NOTHING and reports whether it stored its decision; any
// other error aborts the whole transaction, and the decisions of that
// batch are then written one by one, so that the one at fault fails alone.

// maxDecisionBatch caps the decisions of one transaction.
const maxDecisionBatch = 256

// decisionTxTimeout bounds one transaction of the decision writer.
const decisionTxTimeout = 30 * time.Second

// decisionOp is a queued SaveDecision and the channel its caller waits on.
type decisionOp struct {
	ctx  context.Context
	args []any // of insertDecisionGrouped
	id   string
	done chan error // buffered: the writer never blocks on a caller
}

// insertDecisionGrouped logs a decision ($1–$16) and, if it was logged and
// $17 is true, creates its user's profile from $18–$23 unless one exists;
// it returns the number of decisions stored (0: the request id exists).
// The profile's insert reads the decision's RETURNING, so a duplicate
// request id stores no profile either.
const insertDecisionGrouped = `WITH d AS (
		INSERT INTO decisions (` + decisionColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT DO NOTHING
		RETURNING account_id, mode, user_id
	), p AS (
		INSERT INTO profiles (` + profileColumns + `)
		SELECT account_id, mode, user_id, $18::bytea, $19::jsonb, $20::json, $21::integer, $22::timestamptz, $23::timestamptz
		FROM d WHERE $17::boolean
		ON CONFLICT DO NOTHING
	)
	SELECT count(*) FROM d`

// SaveDecision logs d and, when newProfile is not nil and d's user has no
// profile, creates it, in one statement of a group-committed transaction
// (see groupcommit.go); it returns once that has committed. ErrConflict,
// with nothing stored, if the tenant already has a decision with d's
// request id.
func (db *DB) SaveDecision(ctx context.Context, d *amp.Decision, newProfile *amp.ProfileRecord) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	args := []any{
		d.AccountID, string(d.Mode), d.RequestID, d.UserID, d.TaskType, string(d.TaskComplexity),
		string(d.Recommendation.Framing), string(d.Recommendation.Style), string(d.Recommendation.Handling),
		string(d.Recommendation.Encouragement), d.Propensity, d.Explored, d.Holdout, d.Confidence, d.Interactions, d.CreatedAt,
		false, nil, nil, nil, 0, nil, nil,
	}
	if newProfile != nil {
		// The profile is d's user's, in d's tenant, whatever newProfile's
		// own keys say.
		manual, err := encodeManual(newProfile.Manual)
		if err != nil {
			return fmt.Errorf("postgres: save decision %s: %w", d.RequestID, err)
		}
		args[16], args[17], args[18], args[19], args[20], args[21], args[22] = true, newProfile.Model, manual,
			rawJSON(newProfile.Metadata), newProfile.OutcomeCount, newProfile.CreatedAt, newProfile.UpdatedAt
	}
	op := &decisionOp{ctx: ctx, args: args, id: d.RequestID, done: make(chan error, 1)}
	return submit(ctx, db, db.decisions, db.decisionsDone, op, op.done, func() error {
		return fmt.Errorf("postgres: save decision %s: %w: closed", d.RequestID, amp.ErrUnavailable)
	})
}

// decisionWriter is the goroutine that writes queued decisions. Close
// stops it once it has written everything queued before Close began.
func (db *DB) decisionWriter() {
	defer db.wg.Done()
	defer close(db.decisionsDone)
	runWriter(db.decisions, db.stop, maxDecisionBatch, db.writeDecisions)
}

// writeDecisions writes ops in one transaction and answers each (see
// writeGrouped).
func (db *DB) writeDecisions(ops []*decisionOp) {
	writeGrouped(ops, func(op *decisionOp) context.Context { return op.ctx }, db.decisionTx, db.answerDecision)
}

func (db *DB) answerDecision(op *decisionOp, err error) {
	if err != nil {
		err = fmt.Errorf("postgres: save decision %s: %w", op.id, err)
	} else {
		db.decisionLogged()
	}
	op.done <- err
}

// decisionTx runs ops in one transaction, in one round trip, and returns
// each op's own result (ErrConflict for a request id that exists), or the
// error that failed the transaction.
func (db *DB) decisionTx(ops []*decisionOp) ([]error, error) {
	// Not under the callers' contexts: one caller giving up must not
	// abort the others' commit; nor under Close's, since what is queued is
	// written before Close returns. A database that does not answer fails
	// the batch after decisionTxTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), decisionTxTimeout)
	defer cancel()
	errs := make([]error, len(ops))
	b := &pgx.Batch{}
	for i, op := range ops {
		b.Queue(insertDecisionGrouped, op.args...).QueryRow(func(row pgx.Row) error {
			var n int
			if err := row.Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				errs[i] = fmt.Errorf("%w: request id exists", amp.ErrConflict)
			}
			return nil
		})
	}
	if err := db.batchTx(ctx, b); err != nil {
		return nil, err
	}
	return errs, nil
}
