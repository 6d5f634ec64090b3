package postgres

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	amp "github.com/amp-protocol/amp"
)

const (
	profileColumns  = "account_id, mode, user_id, model, manual, metadata, outcome_count, created_at, updated_at"
	decisionColumns = "account_id, mode, request_id, user_id, task_type, task_complexity, framing, style, handling, encouragement, " +
		"propensity, explored, holdout, confidence, interactions, created_at"
	outcomeColumns = "account_id, mode, request_id, user_id, started, completed, time_to_start, flow_state, satisfaction, metadata, reward, reported_at"
)

// Profile returns the user's profile, or ErrNotFound.
func (db *DB) Profile(ctx context.Context, t amp.Tenant, userID string) (*amp.ProfileRecord, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+profileColumns+" FROM profiles WHERE account_id = $1 AND mode = $2 AND user_id = $3",
		t.AccountID, string(t.Mode), userID)
	p, err := pgx.CollectExactlyOneRow(rows, scanProfile)
	if err != nil {
		return nil, fmt.Errorf("postgres: profile: %w", mapErr(err))
	}
	return p, nil
}

// Population returns the tenant's population state; a tenant without one
// gets a record with a nil Model and a zero UpdatedAt. It may be up to
// populationTTL older than the database's (see popcache.go).
func (db *DB) Population(ctx context.Context, t amp.Tenant) (*amp.PopulationRecord, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if pop := db.pops.get(t); pop != nil {
		return pop, nil
	}
	read := time.Now()
	pop := &amp.PopulationRecord{Tenant: t}
	err := db.pool.QueryRow(ctx, "SELECT model, updated_at FROM populations WHERE account_id = $1 AND mode = $2",
		t.AccountID, string(t.Mode)).Scan(&pop.Model, &pop.UpdatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("postgres: population: %w", mapErr(err))
	default:
		pop.UpdatedAt = pop.UpdatedAt.UTC()
	}
	db.pops.put(pop, read)
	return pop, nil
}

// maxLockAttempts bounds lockOrCreate's retries. Each retry means another
// transaction deleted the row between our insert attempt and our lock, and
// then a third recreated it: more than a couple in a row is not contention
// but something wrong.
const maxLockAttempts = 5

// lockOrCreate locks a row that may not exist yet, in the current
// transaction: lock runs a SELECT … FOR UPDATE and returns pgx.ErrNoRows
// if there is no row; insert adds an empty one (ON CONFLICT DO NOTHING),
// which, uncommitted, is ours alone. The loop covers the races between the
// two: a row inserted by another transaction after our SELECT (our INSERT
// then does nothing, and we lock theirs), and a row deleted after our
// INSERT found it (our next SELECT finds nothing, and we insert again).
func lockOrCreate(ctx context.Context, q querier, lock func() error, insert string, args ...any) (created bool, err error) {
	for range maxLockAttempts {
		err := lock()
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, mapErr(err)
		}
		tag, err := q.Exec(ctx, insert, args...)
		if err != nil {
			return false, mapErr(err)
		}
		if tag.RowsAffected() == 1 {
			return true, nil
		}
	}
	return false, fmt.Errorf("%w: row deleted and recreated %d times while locking it", amp.ErrUnavailable, maxLockAttempts)
}

// lockProfile locks the user's profile, creating an empty one if there is
// none, and reports whether it did. A new profile has zero times, like the
// record handed to the caller, who stamps it.
func lockProfile(ctx context.Context, q querier, t amp.Tenant, userID string) (*amp.ProfileRecord, bool, error) {
	var p *amp.ProfileRecord
	created, err := lockOrCreate(ctx, q, func() error {
		rows, _ := q.Query(ctx, "SELECT "+profileColumns+" FROM profiles WHERE account_id = $1 AND mode = $2 AND user_id = $3 FOR UPDATE",
			t.AccountID, string(t.Mode), userID)
		var err error
		p, err = pgx.CollectExactlyOneRow(rows, scanProfile)
		return err
	}, "INSERT INTO profiles (account_id, mode, user_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
		t.AccountID, string(t.Mode), userID, time.Time{})
	if err != nil {
		return nil, false, err
	}
	if created {
		p = &amp.ProfileRecord{Tenant: t, UserID: userID}
	}
	return p, created, nil
}

// scanPopulation returns a scanner of (model, updated_at) rows of t.
func scanPopulation(t amp.Tenant) pgx.RowToFunc[*amp.PopulationRecord] {
	return func(row pgx.CollectableRow) (*amp.PopulationRecord, error) {
		pop := &amp.PopulationRecord{Tenant: t}
		if err := row.Scan(&pop.Model, &pop.UpdatedAt); err != nil {
			return nil, err
		}
		pop.UpdatedAt = pop.UpdatedAt.UTC()
		return pop, nil
	}
}

// queueProfileUpdate queues the statement that stores p, a locked profile,
// and normalises p's times to what a read would return.
func queueProfileUpdate(b *pgx.Batch, p *amp.ProfileRecord) error {
	manual, err := encodeManual(p.Manual)
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	if p.Manual != nil {
		p.Manual.SetAt = utc(p.Manual.SetAt)
	}
	b.Queue(`UPDATE profiles SET model = $4, manual = $5, metadata = $6, outcome_count = $7, created_at = $8, updated_at = $9,
			version = version + 1
		WHERE account_id = $1 AND mode = $2 AND user_id = $3`,
		p.AccountID, string(p.Mode), p.UserID, p.Model, manual, rawJSON(p.Metadata), p.OutcomeCount, p.CreatedAt, p.UpdatedAt)
	return nil
}

// PendingPopulations returns up to limit tenants with population deltas
// waiting to be folded.
func (db *DB) PendingPopulations(ctx context.Context, limit int) ([]amp.Tenant, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := db.pool.Query(ctx, "SELECT DISTINCT account_id, mode FROM population_deltas LIMIT $1", limit)
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (amp.Tenant, error) {
		var t amp.Tenant
		err := row.Scan(&t.AccountID, (*string)(&t.Mode))
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: pending populations: %w", mapErr(err))
	}
	return ts, nil
}

// FoldPopulation folds up to limit of t's pending deltas, oldest first,
// into its population through merge, in one transaction that locks the
// population row with SKIP LOCKED: a fold of another instance holding it
// makes this one return 0 at once, and the deltas it folds are deleted by
// their keys, so each is folded exactly once. A tenant's first fold creates
// its population row (ON CONFLICT DO NOTHING, then locks it).
func (db *DB) FoldPopulation(ctx context.Context, t amp.Tenant, limit int, merge amp.PopulationMergeFunc) (int, error) {
	if limit <= 0 {
		return 0, db.checkOpen()
	}
	var (
		folded    int
		foldedPop *amp.PopulationRecord
	)
	mode := string(t.Mode)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		lock := func() (*amp.PopulationRecord, error) {
			rows, _ := tx.Query(ctx, "SELECT model, updated_at FROM populations WHERE account_id = $1 AND mode = $2 FOR UPDATE SKIP LOCKED",
				t.AccountID, mode)
			return collectOptional(rows, scanPopulation(t))
		}
		pop, err := lock()
		if err != nil {
			return mapErr(err)
		}
		if pop == nil {
			tag, err := tx.Exec(ctx, "INSERT INTO populations (account_id, mode, updated_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
				t.AccountID, mode, time.Time{})
			if err != nil {
				return mapErr(err)
			}
			if tag.RowsAffected() == 0 {
				// Another fold created it; whether it still holds it or
				// not, the next pass folds what is left.
				return nil
			}
			pop = &amp.PopulationRecord{Tenant: t}
		}
		rows, _ := tx.Query(ctx, "SELECT seq, delta FROM population_deltas WHERE account_id = $1 AND mode = $2 ORDER BY seq LIMIT $3",
			t.AccountID, mode, limit)
		var (
			seqs   []int64
			deltas [][]byte
			seq    int64
			delta  []byte
		)
		if _, err := pgx.ForEachRow(rows, []any{&seq, &delta}, func() error {
			seqs, deltas = append(seqs, seq), append(deltas, delta)
			delta = nil // ForEachRow reuses the destinations
			return nil
		}); err != nil {
			return mapErr(err)
		}
		if len(deltas) == 0 {
			return errNothingToFold // rolls back an empty row just created
		}
		if err := merge(pop, deltas); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue("UPDATE populations SET model = $3, updated_at = $4 WHERE account_id = $1 AND mode = $2",
			t.AccountID, mode, pop.Model, utc(pop.UpdatedAt))
		b.Queue("DELETE FROM population_deltas WHERE account_id = $1 AND mode = $2 AND seq = ANY($3)",
			t.AccountID, mode, seqs).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != int64(len(seqs)) {
				// Only the test-mode reset deletes deltas besides a fold,
				// and it waits for our lock on the population first.
				return fmt.Errorf("%w: %d of %d folded deltas were gone", amp.ErrConflict, int64(len(seqs))-tag.RowsAffected(), len(seqs))
			}
			return nil
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapErr(err)
		}
		folded = len(deltas)
		pop.Tenant, pop.UpdatedAt = t, utc(pop.UpdatedAt)
		foldedPop = pop
		return nil
	})
	if errors.Is(err, errNothingToFold) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: fold population: %w", err)
	}
	if folded > 0 {
		db.pops.put(foldedPop, time.Now())
	}
	return folded, nil
}

var errNothingToFold = errors.New("no pending deltas")

// PopulationLog returns the population delta of every stored outcome of t
// that has one, in the order they were reported, and how many of t's
// deltas are pending. Concurrent outcomes may have been queued, and so
// folded, in another order.
func (db *DB) PopulationLog(ctx context.Context, t amp.Tenant) ([][]byte, int, error) {
	if err := db.checkOpen(); err != nil {
		return nil, 0, err
	}
	mode := string(t.Mode)
	var (
		deltas  [][]byte
		pending int64
	)
	b := &pgx.Batch{}
	b.Queue(`SELECT population_delta FROM outcomes WHERE account_id = $1 AND mode = $2 AND population_delta IS NOT NULL
		ORDER BY reported_at, request_id`, t.AccountID, mode).Query(func(rows pgx.Rows) error {
		var err error
		deltas, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
		return err
	})
	b.Queue("SELECT count(*) FROM population_deltas WHERE account_id = $1 AND mode = $2", t.AccountID, mode).
		QueryRow(func(row pgx.Row) error { return row.Scan(&pending) })
	// One transaction: the log and the count from one snapshot.
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
			return mapErr(err)
		}
		return mapErr(tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: population log: %w", err)
	}
	return deltas, int(pending), nil
}

// UpdateProfile runs apply on the user's profile, locked, or on a new one
// (created true) if the user has none, and stores the result in the same
// transaction.
func (db *DB) UpdateProfile(ctx context.Context, t amp.Tenant, userID string, apply func(p *amp.ProfileRecord, created bool) error) (*amp.ProfileRecord, error) {
	var out *amp.ProfileRecord
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		p, created, err := lockProfile(ctx, tx, t, userID)
		if err != nil {
			return err
		}
		if err := apply(p, created); err != nil {
			return err
		}
		// The row is the one locked, whatever apply did to the keys.
		p.Tenant, p.UserID = t, userID
		b := &pgx.Batch{}
		if err := queueProfileUpdate(b, p); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapErr(err)
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: update profile: %w", err)
	}
	return out, nil
}

// DeleteProfile erases the user's decisions, their outcomes (by cascade)
// and the profile, locking the profile first and then the decisions, the
// order in which a group-committed outcome locks them (outcomes.go);
// ErrNotFound, with nothing erased, if the user has no profile.
//
// An outcome being written waits for the profile's lock, then finds the
// profile gone and is read again: its decision is gone too, so it is
// ErrNotFound. Under read committed each statement sees the rows committed
// when it starts, so a decision logged after the first DELETE began, and
// perhaps already learned from, would survive the erasure of the profile
// that learned it. The last statement, run once the profile is deleted,
// erases those too, skipping any locked right now (by a decision's insert
// or an outcome's foreign key check), as waiting for them could close a
// cycle.
func (db *DB) DeleteProfile(ctx context.Context, t amp.Tenant, userID string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var deleted int64
		mode := string(t.Mode)
		b := &pgx.Batch{}
		b.Queue("SELECT 1 FROM profiles WHERE account_id = $1 AND mode = $2 AND user_id = $3 FOR UPDATE", t.AccountID, mode, userID)
		b.Queue(deleteDecisions("account_id = $1 AND mode = $2 AND user_id = $3", ""), t.AccountID, mode, userID)
		b.Queue("DELETE FROM profiles WHERE account_id = $1 AND mode = $2 AND user_id = $3",
			t.AccountID, mode, userID).Exec(func(tag pgconn.CommandTag) error {
			deleted = tag.RowsAffected()
			return nil
		})
		b.Queue(deleteDecisions("account_id = $1 AND mode = $2 AND user_id = $3", "SKIP LOCKED"), t.AccountID, mode, userID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapErr(err)
		}
		if deleted == 0 {
			return amp.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: delete profile: %w", err)
	}
	return nil
}

// deleteDecisions returns a statement that deletes the decisions matching
// where, locking them first in primary-key order: two erasures that
// overlap (a user's and the monthly reset, perhaps from two instances)
// then never wait on each other in a cycle, as two DELETEs scanning in
// different orders can. wait is "" to wait for locked rows or "SKIP
// LOCKED" to leave them.
func deleteDecisions(where, wait string) string {
	return `DELETE FROM decisions WHERE (account_id, mode, request_id) IN (
		SELECT account_id, mode, request_id FROM decisions WHERE ` + where + `
		ORDER BY account_id, mode, request_id FOR UPDATE ` + wait + `)`
}

// ProfileStats aggregates the user's stored outcomes by their decision's
// task type and UTC hour, in one query; a user without outcomes gets zeros.
// Outcomes whose decision had no task type count in the totals and by hour,
// not by task type.
func (db *DB) ProfileStats(ctx context.Context, t amp.Tenant, userID string) (*amp.ProfileStats, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, `SELECT d.task_type, extract(hour FROM d.created_at AT TIME ZONE 'UTC')::integer,
			count(*), count(*) FILTER (WHERE o.completed), count(o.time_to_start),
			coalesce(sum(o.time_to_start), 0), count(*) FILTER (WHERE o.flow_state)
		FROM outcomes o
		JOIN decisions d ON d.account_id = o.account_id AND d.mode = o.mode AND d.request_id = o.request_id
		WHERE o.account_id = $1 AND o.mode = $2 AND o.user_id = $3 AND d.account_id = $1 AND d.mode = $2
		GROUP BY 1, 2`, t.AccountID, string(t.Mode), userID)
	st := &amp.ProfileStats{ByTaskType: map[string]amp.OutcomeCounts{}}
	var (
		taskType                                 string
		hour                                     int32
		outcomes, completed, withTTS, flowStates int64
		sumTTS                                   float64
	)
	_, err := pgx.ForEachRow(rows, []any{&taskType, &hour, &outcomes, &completed, &withTTS, &sumTTS, &flowStates}, func() error {
		if hour < 0 || hour > 23 {
			return fmt.Errorf("hour %d out of range", hour)
		}
		st.Outcomes += int(outcomes)
		st.Completed += int(completed)
		st.WithTimeToStart += int(withTTS)
		st.SumTimeToStart += sumTTS
		st.FlowStates += int(flowStates)
		if taskType != "" { // counted in the totals and by hour only
			c := st.ByTaskType[taskType]
			c.Outcomes += int(outcomes)
			c.Completed += int(completed)
			st.ByTaskType[taskType] = c
		}
		st.ByHour[hour].Outcomes += int(outcomes)
		st.ByHour[hour].Completed += int(completed)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: profile stats: %w", mapErr(err))
	}
	return st, nil
}

// Outcomes returns up to limit of the user's outcomes, newest first; a
// limit of 0 or less returns none.
func (db *DB) Outcomes(ctx context.Context, t amp.Tenant, userID string, limit int) ([]*amp.OutcomeRecord, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+outcomeColumns+` FROM outcomes WHERE account_id = $1 AND mode = $2 AND user_id = $3
		ORDER BY reported_at DESC, request_id DESC LIMIT $4`, t.AccountID, string(t.Mode), userID, limit)
	os, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*amp.OutcomeRecord, error) {
		var o amp.OutcomeRecord
		if err := row.Scan(outcomeDest(&o)...); err != nil {
			return nil, err
		}
		normalizeOutcome(&o)
		return &o, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: outcomes: %w", mapErr(err))
	}
	return os, nil
}

// Decisions returns up to limit decisions of t made at or after since,
// oldest first, each with its outcome if one was reported; a limit of 0 or
// less returns none.
func (db *DB) Decisions(ctx context.Context, t amp.Tenant, since time.Time, limit int) ([]*amp.LoggedDecision, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := db.pool.Query(ctx, `SELECT d.account_id, d.mode, d.request_id, d.user_id, d.task_type, d.task_complexity,
			d.framing, d.style, d.handling, d.encouragement, d.propensity, d.explored, d.holdout, d.confidence,
			d.interactions, d.created_at,
			o.started, o.completed, o.time_to_start, o.flow_state, o.satisfaction, o.metadata, o.reward, o.reported_at
		FROM decisions d
		LEFT JOIN outcomes o ON o.account_id = d.account_id AND o.mode = d.mode AND o.request_id = d.request_id
		WHERE d.account_id = $1 AND d.mode = $2 AND d.created_at >= $3
		ORDER BY d.created_at, d.request_id
		LIMIT $4`, t.AccountID, string(t.Mode), since, limit)
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*amp.LoggedDecision, error) {
		var (
			ld         amp.LoggedDecision
			mode       string
			complexity string
			rec        [4]string
			started    *bool
			o          amp.OutcomeRecord
			reward     *float64
			reportedAt *time.Time
			metadata   []byte
		)
		d := &ld.Decision
		if err := row.Scan(&d.AccountID, &mode, &d.RequestID, &d.UserID, &d.TaskType, &complexity,
			&rec[0], &rec[1], &rec[2], &rec[3], &d.Propensity, &d.Explored, &d.Holdout, &d.Confidence,
			&d.Interactions, &d.CreatedAt,
			&started, &o.Completed, &o.TimeToStart, &o.FlowState, &o.Satisfaction, &metadata, &reward, &reportedAt); err != nil {
			return nil, err
		}
		fillDecision(d, mode, complexity, rec)
		if started != nil { // outcome columns are all NULL when there is none
			o.Tenant, o.RequestID, o.UserID = d.Tenant, d.RequestID, d.UserID
			o.Started, o.Metadata = *started, rawMessage(metadata)
			if reward != nil {
				o.Reward = *reward
			}
			if reportedAt != nil {
				o.ReportedAt = *reportedAt
			}
			normalizeOutcome(&o)
			ld.Outcome = &o
		}
		return &ld, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: decisions: %w", mapErr(err))
	}
	return ds, nil
}

// ResetTestData erases every test-mode decision (and with them their
// outcomes), profile, population and pending population delta of every
// account, locking the profiles first and then the decisions, as
// DeleteProfile does, and returns how many profiles it erased. Each
// table's rows are locked in primary-key order, so that two instances
// resetting at once serialise; the last statement erases the decisions
// logged while the others ran, as in DeleteProfile.
func (db *DB) ResetTestData(ctx context.Context) (int64, error) {
	var n int64
	mode := string(amp.ModeTest)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue("SELECT 1 FROM profiles WHERE mode = $1 ORDER BY account_id, mode, user_id FOR UPDATE", mode)
		b.Queue(deleteDecisions("mode = $1", ""), mode)
		b.Queue(`DELETE FROM profiles WHERE (account_id, mode, user_id) IN (
			SELECT account_id, mode, user_id FROM profiles WHERE mode = $1
			ORDER BY account_id, mode, user_id FOR UPDATE)`, mode).Exec(func(tag pgconn.CommandTag) error {
			n = tag.RowsAffected()
			return nil
		})
		b.Queue(`DELETE FROM populations WHERE (account_id, mode) IN (
			SELECT account_id, mode FROM populations WHERE mode = $1
			ORDER BY account_id, mode FOR UPDATE)`, mode)
		// After the populations' locks: a fold in flight has committed, or
		// will find its population gone.
		b.Queue("DELETE FROM population_deltas WHERE mode = $1", mode)
		b.Queue(deleteDecisions("mode = $1", "SKIP LOCKED"), mode)
		return mapErr(tx.SendBatch(ctx, b).Close())
	})
	db.pops.clear() // whether or not it committed
	if err != nil {
		return 0, fmt.Errorf("postgres: reset test data: %w", err)
	}
	return n, nil
}

// Setting returns the value of a service setting, or "" if it is unset.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	if err := db.checkOpen(); err != nil {
		return "", err
	}
	var v string
	err := db.pool.QueryRow(ctx, "SELECT value FROM settings WHERE name = $1", name).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("postgres: setting %s: %w", name, mapErr(err))
	}
	return v, nil
}

// SetSetting stores a service setting.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
		name, value)
	if err != nil {
		return fmt.Errorf("postgres: set setting %s: %w", name, mapErr(err))
	}
	return nil
}

// collectOptional is pgx.CollectExactlyOneRow for a row that may be
// absent: nil, and no error, when it is.
func collectOptional[T any](rows pgx.Rows, fn pgx.RowToFunc[*T]) (*T, error) {
	v, err := pgx.CollectExactlyOneRow(rows, fn)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

func scanProfile(row pgx.CollectableRow) (*amp.ProfileRecord, error) {
	var (
		p        amp.ProfileRecord
		mode     string
		manual   []byte
		metadata []byte
		count    int32
	)
	if err := row.Scan(&p.AccountID, &mode, &p.UserID, &p.Model, &manual, &metadata, &count, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	return finishProfile(&p, mode, manual, metadata, count)
}

// finishProfile completes a profile scanned from its columns.
func finishProfile(p *amp.ProfileRecord, mode string, manual, metadata []byte, count int32) (*amp.ProfileRecord, error) {
	p.Mode, p.OutcomeCount, p.Metadata = amp.Mode(mode), int(count), rawMessage(metadata)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if manual != nil {
		p.Manual = new(amp.Preferences)
		if err := json.Unmarshal(manual, p.Manual); err != nil {
			return nil, fmt.Errorf("decode manual preferences: %w", err)
		}
		p.Manual.SetAt = p.Manual.SetAt.UTC()
	}
	return p, nil
}

func scanDecision(row pgx.CollectableRow) (*amp.Decision, error) {
	var (
		d          amp.Decision
		mode       string
		complexity string
		rec        [4]string
	)
	if err := row.Scan(&d.AccountID, &mode, &d.RequestID, &d.UserID, &d.TaskType, &complexity,
		&rec[0], &rec[1], &rec[2], &rec[3], &d.Propensity, &d.Explored, &d.Holdout, &d.Confidence,
		&d.Interactions, &d.CreatedAt); err != nil {
		return nil, err
	}
	fillDecision(&d, mode, complexity, rec)
	return &d, nil
}

func fillDecision(d *amp.Decision, mode, complexity string, rec [4]string) {
	d.Mode, d.TaskComplexity = amp.Mode(mode), amp.TaskComplexity(complexity)
	d.Recommendation = amp.Recommendation{
		Framing:       amp.Framing(rec[0]),
		Style:         amp.Style(rec[1]),
		Handling:      amp.Handling(rec[2]),
		Encouragement: amp.Encouragement(rec[3]),
	}
	d.CreatedAt = d.CreatedAt.UTC()
}

// outcomeDest returns the scan destinations of outcomeColumns into o.
// Metadata is scanned through a pointer to its []byte so that NULL stays nil.
func outcomeDest(o *amp.OutcomeRecord) []any {
	return []any{&o.AccountID, (*string)(&o.Mode), &o.RequestID, &o.UserID, &o.Started, &o.Completed, &o.TimeToStart,
		&o.FlowState, &o.Satisfaction, (*[]byte)(&o.Metadata), &o.Reward, &o.ReportedAt}
}

func normalizeOutcome(o *amp.OutcomeRecord) {
	o.ReportedAt = o.ReportedAt.UTC()
	if len(o.Metadata) == 0 {
		o.Metadata = nil
	}
}

// encodeManual encodes manual preferences for the manual column, with
// SetAt at the precision and zone of the other timestamps.
func encodeManual(p *amp.Preferences) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	c := *p
	c.SetAt = utc(c.SetAt)
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode manual preferences: %w", err)
	}
	return b, nil
}

// rawJSON passes caller JSON to a json column byte for byte, and empty
// metadata as NULL (handing pgx a json.RawMessage would re-marshal, and so
// compact, it). The json type keeps \u0000 escapes and lone surrogates
// that jsonb would refuse and that decode to NUL or U+FFFD, so the value is
// held to the text rule (amp.CheckJSONText) on its way: a breach fails the
// write with amp.ErrInvalidInput, as on every backend.
func rawJSON(m json.RawMessage) jsonArg {
	if len(m) == 0 {
		return nil
	}
	return jsonArg(m)
}

// jsonArg is metadata as a query argument; see rawJSON.
type jsonArg []byte

// Value implements driver.Valuer, which pgx calls to encode the argument.
func (j jsonArg) Value() (driver.Value, error) {
	if j == nil {
		return nil, nil
	}
	if err := amp.CheckJSONText(j); err != nil {
		return nil, fmt.Errorf("%w: JSON %s", amp.ErrInvalidInput, err.Reason)
	}
	return []byte(j), nil
}

func rawMessage(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}
