package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ReadDecisionsProfile is the statement whose plan plan_test.go checks.
const ReadDecisionsProfile = readDecisionsProfile

// WithAnalyzeAt sets the counts of logged decisions at which the store
// analyses its learning tables.
func WithAnalyzeAt(at ...int64) Option { return func(o *options) { o.analyzeAt = at } }

// Analyzed reports how many times the store has analysed them.
func (db *DB) Analyzed() int64 { return db.analyzed.Load() }

// FailWriteWith runs a write transaction that fails with err, as a write
// on a full disk does.
func (db *DB) FailWriteWith(ctx context.Context, err error) error {
	return db.inTx(ctx, func(pgx.Tx) error { return err })
}

// MapErr is mapErr, for the external tests.
var MapErr = mapErr

// MigrateBelow applies, on conn, the embedded migrations below version and
// records them, as a database an older binary migrated would be.
func MigrateBelow(ctx context.Context, conn *pgx.Conn, version int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	for _, m := range ms {
		if m.version >= version {
			continue
		}
		if _, err := conn.Exec(ctx, m.sql); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return err
		}
	}
	return nil
}

// OutcomeCommits returns how many transactions the outcome writer
// committed and how many outcomes it wrote in them.
func (db *DB) OutcomeCommits() (txs, outcomes int64) {
	return db.outcomeTxs.Load(), db.outcomeWrites.Load()
}

// QueryExecMode returns how the store's connections run statements.
func (db *DB) QueryExecMode() pgx.QueryExecMode {
	return db.pool.Config().ConnConfig.DefaultQueryExecMode
}
