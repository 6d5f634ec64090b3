package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded migrations/NNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{3,})_([a-z0-9_]+)\.sql$`)

// migrations returns the embedded migrations in version order. Files whose
// names do not follow NNN_name.sql, and duplicate versions, are errors: a
// misnamed file would otherwise be skipped silently.
func migrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s: name is not NNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: m[2], sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %d_%s and %d_%s share a version", ms[i].version, ms[i].name, ms[i-1].version, ms[i-1].name)
		}
	}
	return ms, nil
}

// migrate applies the pending embedded migrations on conn, in one IMMEDIATE
// transaction: another process opening the same file at the same time waits
// for it, then finds the migrations applied. A database that has a version
// this binary does not know was migrated by a newer binary; it is refused
// rather than run with a schema this code was not written for.
func migrate(ctx context.Context, conn *sql.Conn, log *slog.Logger) (err error) {
	ms, err := migrations(migrationFiles)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			// The error is what matters; a failed rollback adds nothing.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := make(map[int]bool)
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	known := make(map[int]bool, len(ms))
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("migrate: database has schema version %d, unknown to this binary: it was migrated by a newer version", v)
		}
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate %03d_%s: %w", m.version, m.name, err)
		}
		// applied_at is for people reading the table, so SQLite's own clock
		// will do.
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
			VALUES (?, ?, CAST(unixepoch('subsec') * 1000000 AS INTEGER))`, m.version, m.name); err != nil {
			return fmt.Errorf("migrate %03d_%s: %w", m.version, m.name, err)
		}
		log.InfoContext(ctx, "applied migration", slog.Int("version", m.version), slog.String("name", m.name))
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
