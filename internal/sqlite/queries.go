package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The SQL of the store, prepared once: the writer's statements on the
// writer connection (writer.go), the readers' on the read pool (below).
// Every query of learning data filters by account_id and mode.
const (
	accountCols      = "id, name, plan, custom_rate, holdout_percent, created_at"
	sqlInsertAccount = "INSERT INTO accounts (" + accountCols + ") VALUES (?, ?, ?, ?, ?, ?)"
	sqlUpdateAccount = "UPDATE accounts SET name = ?, plan = ?, custom_rate = ?, holdout_percent = ? WHERE id = ?"
	sqlAccount       = "SELECT " + accountCols + " FROM accounts WHERE id = ?"
	sqlAccounts      = "SELECT " + accountCols + " FROM accounts ORDER BY created_at, id"

	keyCols      = "id, account_id, mode, name, hash, last4, scopes, rate_limit, expires_at, revoked_at, created_at, last_used_at, quarantined_at, quarantine_reason, quarantine_url, rolled_from, rolled_to"
	sqlInsertKey = "INSERT INTO api_keys (" + keyCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	sqlUpdateKey = "UPDATE api_keys SET name = ?, scopes = ?, rate_limit = ?, expires_at = ?, revoked_at = ?, quarantined_at = ?, quarantine_reason = ?, quarantine_url = ? WHERE id = ?"
	sqlTouchKey  = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)"
	sqlKeyExists = "SELECT 1 FROM api_keys WHERE id = ?"
	sqlKeyByHash = "SELECT " + keyCols + " FROM api_keys WHERE hash = ?"
	sqlKey       = "SELECT " + keyCols + " FROM api_keys WHERE id = ?"
	sqlKeys      = "SELECT " + keyCols + " FROM api_keys WHERE account_id = ? ORDER BY created_at, id"

	profileCols = "model, manual_framing, manual_style, manual_handling, manual_encouragement, manual_set_at, " +
		"metadata, outcome_count, created_at, updated_at"
	sqlProfile               = "SELECT " + profileCols + ", version FROM profiles WHERE account_id = ? AND mode = ? AND user_id = ?"
	profileInsert            = "INSERT INTO profiles (account_id, mode, user_id, " + profileCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	sqlInsertProfileIfAbsent = profileInsert + " ON CONFLICT (account_id, mode, user_id) DO NOTHING"
	sqlUpsertProfile         = profileInsert + ` ON CONFLICT (account_id, mode, user_id) DO UPDATE SET
		model = excluded.model,
		manual_framing = excluded.manual_framing,
		manual_style = excluded.manual_style,
		manual_handling = excluded.manual_handling,
		manual_encouragement = excluded.manual_encouragement,
		manual_set_at = excluded.manual_set_at,
		metadata = excluded.metadata,
		outcome_count = excluded.outcome_count,
		created_at = excluded.created_at,
		updated_at = excluded.updated_at,
		version = profiles.version + 1`
	sqlDeleteProfile       = "DELETE FROM profiles WHERE account_id = ? AND mode = ? AND user_id = ?"
	sqlDeleteUserOutcomes  = "DELETE FROM outcomes WHERE account_id = ? AND mode = ? AND user_id = ?"
	sqlDeleteUserDecisions = "DELETE FROM decisions WHERE account_id = ? AND mode = ? AND user_id = ?"

	sqlPopulation       = "SELECT model, updated_at FROM populations WHERE account_id = ? AND mode = ?"
	sqlUpsertPopulation = `INSERT INTO populations (account_id, mode, model, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, mode) DO UPDATE SET model = excluded.model, updated_at = excluded.updated_at`

	sqlInsertDecision = `INSERT INTO decisions (request_id, account_id, mode, user_id, task_type, task_complexity,
		framing, style, handling, encouragement, propensity, explored, holdout, confidence, interactions, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	decisionSelect = "d.user_id, d.task_type, d.task_complexity, d.framing, d.style, d.handling, d.encouragement, " +
		"d.propensity, d.explored, d.holdout, d.confidence, d.interactions, d.created_at"
	// What RecordOutcome reads: the decision, whether it has an outcome,
	// and the user's profile with its version (NULL when absent). It runs
	// on the read pool before learning off the writer, and on the writer
	// when that keeps meeting a newer profile (see RecordOutcome).
	sqlDecisionForOutcome = "SELECT " + decisionSelect + `, o.request_id IS NOT NULL,
		p.model, p.manual_framing, p.manual_style, p.manual_handling,
		p.manual_encouragement, p.manual_set_at, p.metadata, p.outcome_count, p.created_at, p.updated_at,
		p.version
		FROM decisions d
		LEFT JOIN outcomes o ON o.request_id = d.request_id
		LEFT JOIN profiles p ON p.account_id = d.account_id AND p.mode = d.mode AND p.user_id = d.user_id
		WHERE d.request_id = ? AND d.account_id = ? AND d.mode = ?`
	// Why sqlInsertOutcomeChecked inserted nothing: the profile's version
	// now, whether an outcome was stored meanwhile, and the decision's time
	// (NULL if it no longer exists), which decides whether it still takes
	// outcomes.
	sqlOutcomeCheck = `SELECT
		(SELECT version FROM profiles WHERE account_id = ?1 AND mode = ?2 AND user_id = ?3),
		EXISTS (SELECT 1 FROM outcomes WHERE request_id = ?4),
		(SELECT created_at FROM decisions WHERE request_id = ?4 AND account_id = ?1 AND mode = ?2)`
	// The outcome's insert as RecordOutcome stores a learned outcome: only
	// if the decision (?1, ?2, ?3) still has the time ?14 and the user's
	// profile still the version ?15 (NULL: none). It inserts nothing when
	// either changed (sqlOutcomeCheck then says which) and fails on the
	// primary key when an outcome was stored meanwhile, so that one
	// statement does the check and the insert.
	sqlInsertOutcomeChecked = `INSERT INTO outcomes (request_id, account_id, mode, user_id, started, completed,
		time_to_start, flow_state, satisfaction, metadata, reward, reported_at, population_delta)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
		WHERE (SELECT created_at FROM decisions WHERE request_id = ?1 AND account_id = ?2 AND mode = ?3) = ?14
		AND (SELECT version FROM profiles WHERE account_id = ?2 AND mode = ?3 AND user_id = ?4) IS ?15`
	sqlInsertDelta = "INSERT INTO population_deltas (account_id, mode, request_id, delta) VALUES (?, ?, ?, ?)"

	// The fold (FoldPopulation): tenants with pending deltas, a tenant's
	// population with its version and its oldest deltas on the read pool;
	// the writer stores the population if its version is unchanged and
	// deletes the deltas folded.
	sqlPendingPopulations = "SELECT DISTINCT account_id, mode FROM population_deltas LIMIT ?"
	sqlPopulationVersion  = "SELECT model, updated_at, version FROM populations WHERE account_id = ? AND mode = ?"
	sqlPendingDeltas      = "SELECT seq, delta FROM population_deltas WHERE account_id = ? AND mode = ? ORDER BY seq LIMIT ?"
	sqlFoldUpdate         = `UPDATE populations SET model = ?, updated_at = ?, version = version + 1
		WHERE account_id = ? AND mode = ? AND version = ?`
	sqlFoldInsert = `INSERT INTO populations (account_id, mode, model, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, mode) DO NOTHING`
	sqlDeleteFolded  = "DELETE FROM population_deltas WHERE account_id = ? AND mode = ? AND seq <= ?"
	sqlPopulationLog = "SELECT population_delta FROM outcomes WHERE account_id = ? AND mode = ? AND population_delta IS NOT NULL ORDER BY rowid"
	sqlPendingCount  = "SELECT count(*) FROM population_deltas WHERE account_id = ? AND mode = ?"
	outcomeSelect    = "o.started, o.completed, o.time_to_start, o.flow_state, o.satisfaction, o.metadata, o.reward, o.reported_at"
	sqlDecisions     = "SELECT d.request_id, " + decisionSelect + ", o.request_id IS NOT NULL, " + outcomeSelect + `
		FROM decisions d LEFT JOIN outcomes o ON o.request_id = d.request_id
		WHERE d.account_id = ? AND d.mode = ? AND d.created_at >= ?
		ORDER BY d.created_at, d.request_id
		LIMIT ?`

	sqlInsertOutcome = `INSERT INTO outcomes (request_id, account_id, mode, user_id, started, completed,
		time_to_start, flow_state, satisfaction, metadata, reward, reported_at, population_delta)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlOutcomes = "SELECT o.request_id, " + outcomeSelect + ` FROM outcomes o
		WHERE o.account_id = ? AND o.mode = ? AND o.user_id = ?
		ORDER BY o.reported_at DESC, o.request_id DESC
		LIMIT ?`
	// One row per (task type, UTC hour of the decision); ProfileStats adds
	// them up. 3600000000 is an hour in microseconds.
	sqlProfileStats = `SELECT d.task_type, (d.created_at / 3600000000) % 24,
		count(*), coalesce(sum(o.completed = 1), 0),
		count(o.time_to_start), total(o.time_to_start), coalesce(sum(o.flow_state = 1), 0)
		FROM outcomes o JOIN decisions d ON d.request_id = o.request_id
		WHERE o.account_id = ? AND o.mode = ? AND o.user_id = ? AND d.account_id = o.account_id AND d.mode = o.mode
		GROUP BY 1, 2`

	sqlSetting    = "SELECT value FROM settings WHERE name = ?"
	sqlSetSetting = "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)

// readStmts are the statements of the read pool. database/sql prepares each
// once per pool connection, on first use there.
type readStmts struct {
	stmts []*sql.Stmt

	ping, account, accounts, keyByHash, key, keys *sql.Stmt
	profile, population, outcomes, decisions      *sql.Stmt
	profileStats, setting                         *sql.Stmt
	outcomeToLearn, pendingPopulations            *sql.Stmt
	populationVersion, pendingDeltas              *sql.Stmt
	populationLog, pendingCount                   *sql.Stmt
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, s := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&r.ping, "SELECT count(*) FROM sqlite_schema"},
		{&r.account, sqlAccount},
		{&r.accounts, sqlAccounts},
		{&r.keyByHash, sqlKeyByHash},
		{&r.key, sqlKey},
		{&r.keys, sqlKeys},
		{&r.profile, sqlProfile},
		{&r.population, sqlPopulation},
		{&r.outcomes, sqlOutcomes},
		{&r.decisions, sqlDecisions},
		{&r.profileStats, sqlProfileStats},
		{&r.setting, sqlSetting},
		{&r.outcomeToLearn, sqlDecisionForOutcome},
		{&r.pendingPopulations, sqlPendingPopulations},
		{&r.populationVersion, sqlPopulationVersion},
		{&r.pendingDeltas, sqlPendingDeltas},
		{&r.populationLog, sqlPopulationLog},
		{&r.pendingCount, sqlPendingCount},
	} {
		st, err := db.PrepareContext(ctx, s.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", s.query, err)
		}
		*s.dst = st
		r.stmts = append(r.stmts, st)
	}
	return nil
}

func (r *readStmts) close() error {
	var errs []error
	for _, s := range r.stmts {
		errs = append(errs, s.Close())
	}
	r.stmts = nil
	return errors.Join(errs...)
}
