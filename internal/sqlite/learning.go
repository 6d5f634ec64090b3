package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/amp-protocol/amp"
)

// errNoOutcome is returned when an OutcomeFunc returns neither an outcome
// nor an error.
var errNoOutcome = errors.New("sqlite: record outcome: apply returned no outcome")

// Profile returns the user's profile in t, or amp.ErrNotFound.
func (db *DB) Profile(ctx context.Context, t amp.Tenant, userID string) (*amp.ProfileRecord, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	var (
		key profileKey
		gen uint64
	)
	if db.cache != nil {
		key = profileKey{t, userID}
		var c *cachedProfile
		if c, gen = db.cache.profiles.get(key); c != nil {
			if c.p == nil {
				return nil, fmt.Errorf("sqlite: profile: %w", amp.ErrNotFound)
			}
			return copyProfile(c.p), nil
		}
	}
	p := &amp.ProfileRecord{Tenant: t, UserID: userID}
	var version int64
	if err := scanProfile(db.r.profile.QueryRowContext(bg, t.AccountID, string(t.Mode), userID), p, &version); err != nil {
		if db.cache != nil && errors.Is(err, sql.ErrNoRows) {
			db.cache.profiles.offer(key, &cachedProfile{}, gen)
		}
		return nil, db.mapErr("profile", err)
	}
	if db.cache != nil {
		db.cache.profiles.offer(key, &cachedProfile{p: copyProfile(p), version: version}, gen)
	}
	return p, nil
}

// Population returns t's population state; a record with a nil Model if t
// has none yet.
func (db *DB) Population(ctx context.Context, t amp.Tenant) (*amp.PopulationRecord, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	var gen uint64
	if db.cache != nil {
		var c *amp.PopulationRecord
		if c, gen = db.cache.populations.get(t); c != nil {
			return copyPopulation(c), nil
		}
	}
	pop := &amp.PopulationRecord{Tenant: t}
	err := scanPopulation(db.r.population.QueryRowContext(bg, t.AccountID, string(t.Mode)), pop)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, db.mapErr("population", err)
	}
	if db.cache != nil {
		db.cache.populations.offer(t, copyPopulation(pop), gen)
	}
	return pop, nil
}

// SaveDecision logs d durably and, when newProfile is not nil and d's user
// has no profile yet, creates it in the same transaction. The profile is
// stored under d's tenant and user, whatever newProfile says.
// amp.ErrConflict if d's request id exists.
func (db *DB) SaveDecision(ctx context.Context, d *amp.Decision, newProfile *amp.ProfileRecord) error {
	// Arguments are built here, on the caller's goroutine, to keep the
	// single writer goroutine's share of the work small.
	dargs := decisionArgs(d)
	var (
		pargs     []any
		key       = profileKey{d.Tenant, d.UserID}
		cached    *amp.ProfileRecord
		cachedDec *amp.Decision
	)
	if db.cache != nil {
		// Copied now: a caller that gives up waiting may reuse d and
		// newProfile while the write is still to run.
		cachedDec = storedDecision(d)
	}
	if newProfile != nil {
		pargs = profileArgs(d.Tenant, d.UserID, newProfile)
		if db.cache != nil {
			cached = storedProfile(key, newProfile)
		}
	}
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		if _, err := w.exec(w.insDecision, dargs...); err != nil {
			return db.mapErr("save decision", err)
		}
		created := false
		if pargs != nil {
			n, err := w.exec(w.insProfileIfAbsent, pargs...)
			if err != nil {
				return db.mapErr("save decision: create profile", err)
			}
			created = n > 0
		}
		if db.cache != nil {
			w.afterCommit(func() {
				db.cache.decisions.set(cachedDec.RequestID, cachedDec)
				if created {
					// The user had none: the cache may say so. A
					// new row's version is 0.
					db.cache.setStoredProfile(key, cached, 0)
				}
			})
		}
		return nil
	})
}

// RecordOutcome runs apply on the decision requestID of t and stores the
// outcome it returns, the user's profile as apply left it and the
// population delta it returned (queued for FoldPopulation), in one
// transaction; it returns once that has committed. The outcome is filed
// under the decision's request id, tenant and user, whatever apply set. If
// the user has no profile (the decision was saved without one), apply gets
// a new one, which is stored.
//
// apply runs on the caller's goroutine, not the writer's: the decision and
// profile are read (from the cache when it holds both, else on the read
// pool), apply learns from them, and the writer stores the result only if
// the profile's version is still the one read, the decision still exists
// and no outcome was stored meanwhile; otherwise apply runs again on the
// newer profile. After maxLearnAttempts such conflicts (one user's
// outcomes arriving all at once) apply runs on the writer, where nothing
// can come between the read and the write. The writer thus only writes,
// and a user's outcomes neither learn from the same state twice nor lose
// one another's update.
func (db *DB) RecordOutcome(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc) (*amp.OutcomeRecord, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	for attempt := range maxLearnAttempts {
		// After a conflict, the rows are read again from the file: what
		// changed them may not be in the cache yet.
		out, err := db.recordOutcomeOptimistic(ctx, t, requestID, apply, attempt == 0)
		if !errors.Is(err, errStale) {
			return out, err
		}
	}
	return db.recordOutcomeOnWriter(ctx, t, requestID, apply)
}

// maxLearnAttempts bounds RecordOutcome's optimistic attempts.
const maxLearnAttempts = 4

// errStale is a write's answer when a row it was computed from changed
// before it could be stored: the caller computes it again.
var errStale = errors.New("sqlite: row changed since it was read")

// outcomeRead is what RecordOutcome reads before running apply.
type outcomeRead struct {
	d       *amp.Decision
	p       *amp.ProfileRecord
	version sql.NullInt64 // the profile's; not Valid when the user has none
	already bool
}

// scanOutcomeRead scans a row of sqlDecisionForOutcome.
func scanOutcomeRead(row *sql.Row, t amp.Tenant, requestID string) (*outcomeRead, error) {
	r := &outcomeRead{d: &amp.Decision{RequestID: requestID, Tenant: t}, p: &amp.ProfileRecord{Tenant: t}}
	var (
		dc   decisionScan
		pc   profileScan
		dest = make([]any, 0, 26)
	)
	dest = append(dest, dc.dest(r.d)...)
	dest = append(dest, &r.already)
	dest = append(dest, pc.dest(r.p)...)
	dest = append(dest, &r.version)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	dc.into(r.d)
	// A user without a profile (the decision was saved without one) gets
	// a new one, which is stored.
	r.p.UserID = r.d.UserID
	pc.into(r.p)
	return r, nil
}

// runApply runs apply on what was read and returns the outcome to store,
// filed under the decision.
func runApply(r *outcomeRead, pop *amp.PopulationRecord, apply amp.OutcomeFunc) (*amp.OutcomeRecord, []byte, error) {
	o, delta, err := apply(r.d, r.already, r.p, pop)
	if err != nil {
		return nil, nil, err
	}
	if o == nil {
		return nil, nil, errNoOutcome
	}
	o.RequestID, o.Tenant, o.UserID = r.d.RequestID, r.d.Tenant, r.d.UserID
	return o, delta, nil
}

// recordOutcomeOptimistic is one attempt of RecordOutcome with apply off
// the writer, reading from the cache if cached and it has the rows;
// errStale if the profile changed before the write.
func (db *DB) recordOutcomeOptimistic(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc, cached bool) (*amp.OutcomeRecord, error) {
	mode := string(t.Mode)
	var r *outcomeRead
	if cached {
		r = db.cachedOutcomeRead(t, requestID)
	}
	if r == nil {
		var err error
		r, err = scanOutcomeRead(db.r.outcomeToLearn.QueryRowContext(bg, requestID, t.AccountID, mode), t, requestID)
		if err != nil {
			return nil, db.mapErr("record outcome: decision "+requestID, err)
		}
	}
	pop, err := db.Population(ctx, t)
	if err != nil {
		return nil, err
	}
	o, delta, err := runApply(r, pop, apply)
	if err != nil {
		return nil, err
	}
	oargs := outcomeArgs(o, delta)
	pargs := profileArgs(t, r.d.UserID, r.p)
	// The insert checks what apply learned from and is the first change:
	// when it inserts nothing or fails, nothing changed, so no savepoint
	// is needed.
	var version any
	if r.version.Valid {
		version = r.version.Int64
	}
	cargs := append(oargs[:len(oargs):len(oargs)], encTime(r.d.CreatedAt), version)
	err = db.writeNoSavepoint(ctx, func(w *writer) error {
		n, err := w.exec(w.insOutcomeChecked, cargs...)
		if err != nil {
			// The primary key's conflict: an outcome was stored meanwhile.
			return db.mapErr("record outcome "+requestID, err)
		}
		if n == 0 {
			return db.outcomeNotStored(w, t, r, requestID)
		}
		return db.storeLearned(w, t, r.d.UserID, o, delta, pargs, r.p, r.version)
	})
	if err != nil {
		return nil, err
	}
	o.ReportedAt = asStored(o.ReportedAt)
	return o, nil
}

// cachedOutcomeRead returns what RecordOutcome reads, from the cache, or
// nil if the cache lacks the decision or the profile (or there is none).
// A cached decision has no outcome stored: its entry goes when one is.
// Should one be stored meanwhile, the writer's check says so.
func (db *DB) cachedOutcomeRead(t amp.Tenant, requestID string) *outcomeRead {
	if db.cache == nil {
		return nil
	}
	d, _ := db.cache.decisions.get(requestID)
	if d == nil || d.Tenant != t {
		return nil
	}
	c, _ := db.cache.profiles.get(profileKey{t, d.UserID})
	if c == nil {
		return nil
	}
	r := &outcomeRead{d: storedDecision(d)}
	if c.p != nil {
		r.p = copyProfile(c.p)
		r.version = sql.NullInt64{Int64: c.version, Valid: true}
	} else {
		// No profile: apply gets a new one, as from the read.
		r.p = &amp.ProfileRecord{Tenant: t, UserID: d.UserID}
	}
	return r
}

// recordOutcomeOnWriter is RecordOutcome with the read, apply and the
// write all on the writer goroutine: the path of last resort, which no
// other write can overtake.
func (db *DB) recordOutcomeOnWriter(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc) (*amp.OutcomeRecord, error) {
	// The population is read before: only FoldPopulation changes it, and
	// apply only reads it, as the prior it is.
	pop, err := db.Population(ctx, t)
	if err != nil {
		return nil, err
	}
	var out *amp.OutcomeRecord
	// Only the outcome's insert, the first change, can fail for a reason of
	// its own (a stored outcome): no savepoint is needed.
	err = db.writeNoSavepoint(ctx, func(w *writer) error {
		r, err := scanOutcomeRead(w.decisionForOutcome.QueryRowContext(bg, requestID, t.AccountID, string(t.Mode)), t, requestID)
		if err != nil {
			return db.mapErr("record outcome: decision "+requestID, err)
		}
		o, delta, err := runApply(r, pop, apply)
		if err != nil {
			return err
		}
		if err := db.storeOutcome(w, t, r.d.UserID, o, delta, outcomeArgs(o, delta), profileArgs(t, r.d.UserID, r.p), r.p, r.version); err != nil {
			return err
		}
		o.ReportedAt = asStored(o.ReportedAt)
		out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// outcomeNotStored says why sqlInsertOutcomeChecked inserted nothing for
// what was read as r: the decision is gone (amp.ErrNotFound), has an
// outcome (amp.ErrConflict), or it or the profile changed (errStale).
func (db *DB) outcomeNotStored(w *writer, t amp.Tenant, r *outcomeRead, requestID string) error {
	var (
		version, created sql.NullInt64
		stored           bool
	)
	if err := w.outcomeCheck.QueryRowContext(bg, t.AccountID, string(t.Mode), r.d.UserID, requestID).Scan(&version, &stored, &created); err != nil {
		return db.mapErr("record outcome: check", err)
	}
	switch {
	case !created.Valid:
		return db.mapErr("record outcome: decision "+requestID, amp.ErrNotFound)
	case stored:
		return db.mapErr("record outcome "+requestID, amp.ErrConflict)
	}
	// The decision's time decides whether it still takes outcomes: a
	// decision cached before something outside this process changed it is
	// read again, from the file, as is a profile changed meanwhile.
	return errStale
}

// storeOutcome is the writes of RecordOutcome: the outcome, the profile p
// (bumping its version, read as version) and the population delta, if
// any.
func (db *DB) storeOutcome(w *writer, t amp.Tenant, userID string, o *amp.OutcomeRecord, delta []byte, oargs, pargs []any, p *amp.ProfileRecord, version sql.NullInt64) error {
	if _, err := w.exec(w.insOutcome, oargs...); err != nil {
		return db.mapErr("record outcome", err)
	}
	return db.storeLearned(w, t, userID, o, delta, pargs, p, version)
}

// storeLearned is storeOutcome's writes after the outcome's insert.
func (db *DB) storeLearned(w *writer, t amp.Tenant, userID string, o *amp.OutcomeRecord, delta []byte, pargs []any, p *amp.ProfileRecord, version sql.NullInt64) error {
	if _, err := w.exec(w.upsertProfile, pargs...); err != nil {
		return db.mapErr("record outcome: store profile", err)
	}
	if delta != nil {
		if _, err := w.exec(w.insDelta, t.AccountID, string(t.Mode), o.RequestID, delta); err != nil {
			return db.mapErr("record outcome: queue population delta", err)
		}
	}
	if db.cache != nil {
		// Copied now: apply's caller may reuse p once answered.
		cached := storedProfile(profileKey{t, userID}, p)
		next := nextVersion(version)
		w.afterCommit(func() {
			db.cache.setStoredProfile(profileKey{t, userID}, cached, next)
			db.cache.decisions.del(o.RequestID)
		})
	}
	return nil
}

// nextVersion is the version sqlUpsertProfile leaves a profile read at
// version (not Valid: there was none, and the insert's default is 0).
func nextVersion(version sql.NullInt64) int64 {
	if !version.Valid {
		return 0
	}
	return version.Int64 + 1
}

// PendingPopulations returns up to limit tenants with population deltas
// waiting to be folded.
func (db *DB) PendingPopulations(ctx context.Context, limit int) ([]amp.Tenant, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.pendingPopulations.QueryContext(ctx, limit)
	if err != nil {
		return nil, db.mapErr("pending populations", err)
	}
	defer rows.Close()
	var out []amp.Tenant
	for rows.Next() {
		var t amp.Tenant
		if err := rows.Scan(&t.AccountID, (*string)(&t.Mode)); err != nil {
			return nil, db.mapErr("pending populations", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("pending populations", err)
	}
	return out, nil
}

// FoldPopulation folds up to limit of t's pending deltas, oldest first,
// into its population through merge, which runs on the caller's goroutine:
// the writer then stores the population, if its version is still the one
// read, and deletes the deltas folded. It returns 0, folding nothing, when
// t has no pending deltas or its population changed meanwhile (a
// concurrent fold, or the test-mode reset); the next fold takes them.
func (db *DB) FoldPopulation(ctx context.Context, t amp.Tenant, limit int, merge amp.PopulationMergeFunc) (int, error) {
	if err := db.ready(ctx); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	mode := string(t.Mode)
	pop := &amp.PopulationRecord{Tenant: t}
	var (
		updated int64
		version sql.NullInt64
	)
	err := db.r.populationVersion.QueryRowContext(bg, t.AccountID, mode).Scan(&pop.Model, &updated, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, db.mapErr("fold population", err)
	default:
		pop.UpdatedAt = decTime(updated)
	}
	deltas, last, err := db.pendingDeltas(ctx, t, limit)
	if err != nil || len(deltas) == 0 {
		return 0, err
	}
	if err := merge(pop, deltas); err != nil {
		return 0, err
	}
	pop.Tenant = t
	model, at := encBlob(pop.Model), encTime(pop.UpdatedAt)
	// With a savepoint: the delete, after the population's write, may find
	// that the reset took deltas away, and must then undo that write.
	err = db.write(ctx, func(w *writer) error {
		var (
			n   int64
			err error
		)
		if version.Valid {
			n, err = w.exec(w.foldUpdate, model, at, t.AccountID, mode, version.Int64)
		} else {
			n, err = w.exec(w.foldInsert, t.AccountID, mode, model, at)
		}
		if err != nil {
			return db.mapErr("fold population", err)
		}
		if n != 1 {
			return errStale
		}
		if n, err = w.exec(w.deleteFolded, t.AccountID, mode, last); err != nil {
			return db.mapErr("fold population: delete deltas", err)
		}
		if n != int64(len(deltas)) {
			return errStale
		}
		if db.cache != nil {
			w.afterCommit(func() { db.cache.setPopulation(t, pop) })
		}
		return nil
	})
	if errors.Is(err, errStale) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(deltas), nil
}

// pendingDeltas returns up to limit of t's oldest pending deltas and the
// seq of the last.
func (db *DB) pendingDeltas(ctx context.Context, t amp.Tenant, limit int) ([][]byte, int64, error) {
	rows, err := db.r.pendingDeltas.QueryContext(ctx, t.AccountID, string(t.Mode), limit)
	if err != nil {
		return nil, 0, db.mapErr("fold population: deltas", err)
	}
	defer rows.Close()
	var (
		deltas [][]byte
		last   int64
	)
	for rows.Next() {
		var d []byte
		if err := rows.Scan(&last, &d); err != nil {
			return nil, 0, db.mapErr("fold population: deltas", err)
		}
		deltas = append(deltas, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, db.mapErr("fold population: deltas", err)
	}
	return deltas, last, nil
}

// PopulationLog returns the population delta of every stored outcome of t
// that has one, in the order they were stored (which is the order they
// were queued, and folded, in), and how many are pending.
func (db *DB) PopulationLog(ctx context.Context, t amp.Tenant) ([][]byte, int, error) {
	if err := db.ready(ctx); err != nil {
		return nil, 0, err
	}
	rows, err := db.r.populationLog.QueryContext(ctx, t.AccountID, string(t.Mode))
	if err != nil {
		return nil, 0, db.mapErr("population log", err)
	}
	defer rows.Close()
	var deltas [][]byte
	for rows.Next() {
		var d []byte
		if err := rows.Scan(&d); err != nil {
			return nil, 0, db.mapErr("population log", err)
		}
		deltas = append(deltas, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, db.mapErr("population log", err)
	}
	var pending int
	if err := db.r.pendingCount.QueryRowContext(ctx, t.AccountID, string(t.Mode)).Scan(&pending); err != nil {
		return nil, 0, db.mapErr("population log", err)
	}
	return deltas, pending, nil
}

// UpdateProfile runs apply on the user's profile (a new one, with created
// true, if there is none) and stores the result under t and userID.
func (db *DB) UpdateProfile(ctx context.Context, t amp.Tenant, userID string, apply func(p *amp.ProfileRecord, created bool) error) (*amp.ProfileRecord, error) {
	var out *amp.ProfileRecord
	// One statement changes the database: the upsert after apply.
	err := db.writeNoSavepoint(ctx, func(w *writer) error {
		p := &amp.ProfileRecord{Tenant: t, UserID: userID}
		var version sql.NullInt64
		err := scanProfile(w.profile.QueryRowContext(bg, t.AccountID, string(t.Mode), userID), p, &version)
		created := errors.Is(err, sql.ErrNoRows)
		if err != nil && !created {
			return db.mapErr("update profile", err)
		}
		if err := apply(p, created); err != nil {
			return err
		}
		if _, err := w.exec(w.upsertProfile, profileArgs(t, userID, p)...); err != nil {
			return db.mapErr("update profile", err)
		}
		p.Tenant, p.UserID = t, userID
		p.CreatedAt, p.UpdatedAt = asStored(p.CreatedAt), asStored(p.UpdatedAt)
		if p.Manual != nil {
			m := *p.Manual // apply may share it with its caller
			m.SetAt = asStored(m.SetAt)
			p.Manual = &m
		}
		out = p
		if db.cache != nil {
			next := nextVersion(version)
			w.afterCommit(func() { db.cache.setProfile(profileKey{t, userID}, p, next) })
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteProfile erases the user's profile, outcomes and decisions in t;
// amp.ErrNotFound (and nothing erased) if the user has no profile.
func (db *DB) DeleteProfile(ctx context.Context, t amp.Tenant, userID string) error {
	mode := string(t.Mode)
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		n, err := w.exec(w.delProfile, t.AccountID, mode, userID)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		if err != nil {
			return db.mapErr("delete profile", err)
		}
		// Outcomes first: they refer to the decisions.
		if _, err := w.exec(w.delUserOutcomes, t.AccountID, mode, userID); err != nil {
			return db.mapErr("delete profile: outcomes", err)
		}
		if _, err := w.exec(w.delUserDecisions, t.AccountID, mode, userID); err != nil {
			return db.mapErr("delete profile: decisions", err)
		}
		if db.cache != nil {
			w.afterCommit(func() {
				db.cache.profiles.del(profileKey{t, userID})
				db.cache.decisions.deleteIf(func(d *amp.Decision) bool { return d.Tenant == t && d.UserID == userID })
			})
		}
		return nil
	})
}

// ResetTestData erases every test-mode profile, decision, outcome,
// population and pending population delta of every account and returns the number of profiles erased.
func (db *DB) ResetTestData(ctx context.Context) (int64, error) {
	var profiles int64
	err := db.writeNoSavepoint(ctx, func(w *writer) error {
		if _, err := w.exec(w.resetOutcomes); err != nil {
			return db.mapErr("reset test data: outcomes", err)
		}
		if _, err := w.exec(w.resetDecisions); err != nil {
			return db.mapErr("reset test data: decisions", err)
		}
		n, err := w.exec(w.resetProfiles)
		if err != nil {
			return db.mapErr("reset test data: profiles", err)
		}
		if _, err := w.exec(w.resetPopulations); err != nil {
			return db.mapErr("reset test data: populations", err)
		}
		if _, err := w.exec(w.resetDeltas); err != nil {
			return db.mapErr("reset test data: population deltas", err)
		}
		profiles = n
		if db.cache != nil {
			// Rare: forgetting live rows too is simpler than sorting them out.
			w.afterCommit(func() {
				db.cache.profiles.clear()
				db.cache.populations.clear()
				db.cache.decisions.clear()
			})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return profiles, nil
}

// ProfileStats aggregates the user's stored outcomes in t. Outcomes whose
// decision had no task type count in the totals and by hour, not by task
// type.
func (db *DB) ProfileStats(ctx context.Context, t amp.Tenant, userID string) (*amp.ProfileStats, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.r.profileStats.QueryContext(ctx, t.AccountID, string(t.Mode), userID)
	if err != nil {
		return nil, db.mapErr("profile stats", err)
	}
	defer rows.Close()
	st := &amp.ProfileStats{ByTaskType: make(map[string]amp.OutcomeCounts)}
	for rows.Next() {
		var (
			taskType                            string
			hour                                int64
			n, completed, withTimeToStart, flow int
			sumTimeToStart                      float64
		)
		if err := rows.Scan(&taskType, &hour, &n, &completed, &withTimeToStart, &sumTimeToStart, &flow); err != nil {
			return nil, db.mapErr("profile stats", err)
		}
		st.Outcomes += n
		st.Completed += completed
		st.WithTimeToStart += withTimeToStart
		st.SumTimeToStart += sumTimeToStart
		st.FlowStates += flow
		if taskType != "" {
			c := st.ByTaskType[taskType]
			c.Outcomes += n
			c.Completed += completed
			st.ByTaskType[taskType] = c
		}
		h := (hour%24 + 24) % 24 // times before 1970 give negative remainders
		st.ByHour[h].Outcomes += n
		st.ByHour[h].Completed += completed
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("profile stats", err)
	}
	return st, nil
}

// Outcomes returns up to limit of the user's outcomes in t, newest first.
func (db *DB) Outcomes(ctx context.Context, t amp.Tenant, userID string, limit int) ([]*amp.OutcomeRecord, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.outcomes.QueryContext(ctx, t.AccountID, string(t.Mode), userID, limit)
	if err != nil {
		return nil, db.mapErr("outcomes", err)
	}
	defer rows.Close()
	out := make([]*amp.OutcomeRecord, 0, min(limit, 64))
	for rows.Next() {
		o := &amp.OutcomeRecord{Tenant: t, UserID: userID}
		var oc outcomeScan
		if err := rows.Scan(append([]any{&o.RequestID}, oc.dest()...)...); err != nil {
			return nil, db.mapErr("outcomes", err)
		}
		oc.into(o)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("outcomes", err)
	}
	return out, nil
}

// Decisions returns up to limit decisions of t made at or after since,
// oldest first, each with its outcome if one was reported.
func (db *DB) Decisions(ctx context.Context, t amp.Tenant, since time.Time, limit int) ([]*amp.LoggedDecision, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.decisions.QueryContext(ctx, t.AccountID, string(t.Mode), encTime(since), limit)
	if err != nil {
		return nil, db.mapErr("decisions", err)
	}
	defer rows.Close()
	out := make([]*amp.LoggedDecision, 0, min(limit, 64))
	for rows.Next() {
		ld := &amp.LoggedDecision{Decision: amp.Decision{Tenant: t}}
		var (
			dc         decisionScan
			hasOutcome bool
			oc         outcomeScan
		)
		dest := make([]any, 0, 24)
		dest = append(dest, &ld.RequestID)
		dest = append(dest, dc.dest(&ld.Decision)...)
		dest = append(dest, &hasOutcome)
		dest = append(dest, oc.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, db.mapErr("decisions", err)
		}
		dc.into(&ld.Decision)
		if hasOutcome {
			ld.Outcome = &amp.OutcomeRecord{RequestID: ld.RequestID, Tenant: t, UserID: ld.UserID}
			oc.into(ld.Outcome)
		}
		out = append(out, ld)
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("decisions", err)
	}
	return out, nil
}

// scanProfile scans a row of sqlProfile into p and its version.
func scanProfile(s scanner, p *amp.ProfileRecord, version any) error {
	var c profileScan
	if err := s.Scan(append(c.dest(p), version)...); err != nil {
		return err
	}
	c.into(p)
	return nil
}

// profileScan holds the scan targets of profileCols, nullable so that they
// can come from the outer side of a LEFT JOIN, where a missing profile has
// a NULL created_at.
type profileScan struct {
	framing, style, handling, encouragement sql.NullString
	setAt, count, created, updated          sql.NullInt64
	metadata                                []byte
}

// dest returns the scan targets; the model is scanned into p directly.
func (c *profileScan) dest(p *amp.ProfileRecord) []any {
	return []any{&p.Model, &c.framing, &c.style, &c.handling, &c.encouragement, &c.setAt,
		&c.metadata, &c.count, &c.created, &c.updated}
}

func (c *profileScan) into(p *amp.ProfileRecord) {
	if c.setAt.Valid {
		p.Manual = &amp.Preferences{
			Framing:       amp.Framing(c.framing.String),
			Style:         amp.Style(c.style.String),
			Handling:      amp.Handling(c.handling.String),
			Encouragement: amp.Encouragement(c.encouragement.String),
			SetAt:         decTime(c.setAt.Int64),
		}
	}
	p.Metadata = decJSON(c.metadata)
	p.OutcomeCount = int(c.count.Int64)
	if c.created.Valid {
		p.CreatedAt = decTime(c.created.Int64)
	}
	if c.updated.Valid {
		p.UpdatedAt = decTime(c.updated.Int64)
	}
}

// profileArgs are the arguments of profileInsert for p, stored under t and
// userID.
func profileArgs(t amp.Tenant, userID string, p *amp.ProfileRecord) []any {
	args := []any{t.AccountID, string(t.Mode), userID, encBlob(p.Model), nil, nil, nil, nil, nil,
		encJSON(p.Metadata), p.OutcomeCount, encTime(p.CreatedAt), encTime(p.UpdatedAt)}
	if m := p.Manual; m != nil {
		args[4], args[5], args[6], args[7], args[8] = string(m.Framing), string(m.Style), string(m.Handling),
			string(m.Encouragement), encTime(m.SetAt)
	}
	return args
}

func scanPopulation(s scanner, pop *amp.PopulationRecord) error {
	var updated int64
	if err := s.Scan(&pop.Model, &updated); err != nil {
		return err
	}
	pop.UpdatedAt = decTime(updated)
	return nil
}

func decisionArgs(d *amp.Decision) []any {
	return []any{d.RequestID, d.AccountID, string(d.Mode), d.UserID, d.TaskType, string(d.TaskComplexity),
		string(d.Recommendation.Framing), string(d.Recommendation.Style), string(d.Recommendation.Handling),
		string(d.Recommendation.Encouragement), d.Propensity, d.Explored, d.Holdout, d.Confidence,
		d.Interactions, encTime(d.CreatedAt)}
}

// decisionScan holds the scan targets of the decisionSelect columns that need
// converting.
type decisionScan struct {
	complexity, framing, style, handling, encouragement string
	created                                             int64
}

func (c *decisionScan) dest(d *amp.Decision) []any {
	return []any{&d.UserID, &d.TaskType, &c.complexity, &c.framing, &c.style, &c.handling, &c.encouragement,
		&d.Propensity, &d.Explored, &d.Holdout, &d.Confidence, &d.Interactions, &c.created}
}

func (c *decisionScan) into(d *amp.Decision) {
	d.TaskComplexity = amp.TaskComplexity(c.complexity)
	d.Recommendation = amp.Recommendation{
		Framing:       amp.Framing(c.framing),
		Style:         amp.Style(c.style),
		Handling:      amp.Handling(c.handling),
		Encouragement: amp.Encouragement(c.encouragement),
	}
	d.CreatedAt = decTime(c.created)
}

// outcomeArgs are the arguments of sqlInsertOutcome for o and its
// population delta.
func outcomeArgs(o *amp.OutcomeRecord, delta []byte) []any {
	return []any{o.RequestID, o.AccountID, string(o.Mode), o.UserID, o.Started, encBoolPtr(o.Completed),
		encFloatPtr(o.TimeToStart), encBoolPtr(o.FlowState), encFloatPtr(o.Satisfaction), encJSON(o.Metadata),
		o.Reward, encTime(o.ReportedAt), encBlob(delta)}
}

// outcomeScan holds the scan targets of the outcomeSelect columns, all nullable
// because they may come from the outer side of a LEFT JOIN.
type outcomeScan struct {
	started, completed, flow  sql.NullBool
	timeToStart, satisfaction sql.NullFloat64
	reward                    sql.NullFloat64
	metadata                  []byte
	reported                  sql.NullInt64
}

func (c *outcomeScan) dest() []any {
	return []any{&c.started, &c.completed, &c.timeToStart, &c.flow, &c.satisfaction, &c.metadata, &c.reward, &c.reported}
}

func (c *outcomeScan) into(o *amp.OutcomeRecord) {
	o.Started = c.started.Bool
	o.Completed = decBoolPtr(c.completed)
	o.TimeToStart = decFloatPtr(c.timeToStart)
	o.FlowState = decBoolPtr(c.flow)
	o.Satisfaction = decFloatPtr(c.satisfaction)
	o.Metadata = decJSON(c.metadata)
	o.Reward = c.reward.Float64
	o.ReportedAt = decTime(c.reported.Int64)
}
