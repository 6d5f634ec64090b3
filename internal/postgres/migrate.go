package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockID is the advisory lock that serialises Migrate across
// instances: the bytes of "ampmigr\x01". Any constant works as long as no
// other application sharing the database uses it.
const migrationLockID int64 = 0x616d706d69677201

// migration is one embedded migrations/NNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. A file
// whose name does not start with a number, or two files with one number,
// is a build mistake, reported here rather than half-applied.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name must be NNN_name.sql", base)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("postgres: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrate applies the embedded migrations the database has not recorded in
// schema_migrations, all in one transaction under an advisory lock: an
// instance that starts while another migrates waits for it and then finds
// nothing left to do, and a failed migration leaves the schema as it was.
// It is what `amp migrate` runs; Open runs it too unless WithoutMigrate.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var applied []string
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		// Transaction-scoped, so that it is released by the commit or
		// rollback even if this process dies mid-way.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockID); err != nil {
			return mapErr(err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return mapErr(err)
		}
		rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return mapErr(err)
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return mapErr(err)
		}
		for _, m := range ms {
			if slices.Contains(done, int32(m.version)) {
				continue
			}
			// Exec without arguments uses the simple protocol, which
			// accepts a file of several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, mapErr(err))
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, mapErr(err))
			}
			applied = append(applied, m.name)
		}
		if newest := slices.Max(append(done, 0)); len(ms) > 0 && int(newest) > ms[len(ms)-1].version {
			// A newer binary migrated this database. Additive migrations
			// keep older binaries working, so this is worth a warning only.
			db.log.Warn("postgres: database schema is newer than this binary",
				slog.Int("schema_version", int(newest)), slog.Int("binary_version", ms[len(ms)-1].version))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, name := range applied {
		db.log.Info("postgres: applied migration", slog.String("migration", name))
	}
	return nil
}
