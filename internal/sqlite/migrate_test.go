package sqlite

import (
	"database/sql"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/amp-protocol/amp"
)

func TestMigrations(t *testing.T) {
	t.Run("Order", func(t *testing.T) {
		ms, err := migrations(fstest.MapFS{
			"migrations/010_ten.sql":  {Data: []byte("SELECT 10")},
			"migrations/002_two.sql":  {Data: []byte("SELECT 2")},
			"migrations/001_init.sql": {Data: []byte("SELECT 1")},
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, m := range ms {
			got = append(got, m.version)
		}
		if want := []int{1, 2, 10}; !slices.Equal(got, want) {
			t.Errorf("versions: got %v, want %v", got, want)
		}
		if ms[2].name != "ten" || ms[2].sql != "SELECT 10" {
			t.Errorf("migration 10: got %q %q", ms[2].name, ms[2].sql)
		}
	})

	t.Run("BadNames", func(t *testing.T) {
		for _, fsys := range []fstest.MapFS{
			{"migrations/1_short.sql": {}},
			{"migrations/001-dash.sql": {}},
			{"migrations/001_init.sql": {}, "migrations/001_again.sql": {}},
			{"migrations/001_init.txt": {}},
		} {
			if _, err := migrations(fsys); err == nil {
				t.Errorf("migrations(%v): got no error", slices.Collect(maps.Keys(fsys)))
			}
		}
	})

	t.Run("Embedded", func(t *testing.T) {
		ms, err := migrations(migrationFiles)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 || ms[0].version != 1 {
			t.Fatalf("embedded migrations: got %d, want 001 first", len(ms))
		}
	})

	t.Run("IdempotentOnReopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "amp.db")
		db := openTest(t, path)
		if err := db.SetSetting(t.Context(), "k", "v"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openTest(t, path)
		if v, err := db.Setting(t.Context(), "k"); err != nil || v != "v" {
			t.Errorf("Setting after reopening: %q, %v", v, err)
		}
		ms, err := migrations(migrationFiles)
		if err != nil {
			t.Fatal(err)
		}
		var versions []int
		rows, err := db.rdb.QueryContext(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			versions = append(versions, v)
		}
		if len(versions) != len(ms) {
			t.Errorf("schema_migrations: got versions %v, want each of %d once", versions, len(ms))
		}
	})

	t.Run("NewerSchemaRefused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "amp.db")
		db := openTest(t, path)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := sql.Open("sqlite", dsn(path))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"); err != nil {
			t.Fatal(err)
		}
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
		db2, err := Open(t.Context(), path, WithLogger(quietLog))
		if err == nil {
			db2.Close()
			t.Fatal("Open of a database migrated by a newer binary: got no error")
		}
		if !strings.Contains(err.Error(), "999") {
			t.Errorf("error %q does not name the unknown version", err)
		}
	})
}

// TestMigration010CarriesMembers: the users and sessions of a database at
// version 9 (one account and role per user) become members with the same
// role, and sessions acting for that account.
func TestMigration010CarriesMembers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amp.db")
	raw, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT")
	for _, m := range ms {
		if m.version < 10 {
			exec(m.sql)
			exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)", m.version, m.name)
		}
	}
	exec("INSERT INTO accounts (id, name, plan, custom_rate, holdout_percent, created_at) VALUES ('acct_1', 'One', 'starter', 0, 0, 1000)")
	exec(`INSERT INTO dashboard_users (id, email, password_hash, account_id, created_at, password_changed_at, role)
		VALUES ('usr_o', 'o@example.com', 'h', 'acct_1', 2000, 2000, 'owner'), ('usr_v', 'v@example.com', 'h', 'acct_1', 3000, 3000, 'viewer')`)
	exec("INSERT INTO dashboard_sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES ('hash_v', 'usr_v', 4000, 4000, 9000000000000)")
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openTest(t, path)
	us, err := db.DashboardUsers(ctx, "acct_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 || us[0].ID != "usr_o" || us[0].Role != "owner" || us[1].ID != "usr_v" || us[1].Role != "viewer" ||
		us[1].JoinedAt.UnixMicro() != 3000 {
		t.Fatalf("members after 010: %+v", us)
	}
	if u, err := db.DashboardUser(ctx, "usr_v"); err != nil || u.AccountID != "acct_1" || u.Role != "viewer" {
		t.Errorf("usr_v after 010: %+v, %v", u, err)
	}
	if s, err := db.DashboardSession(ctx, "hash_v"); err != nil || s.AccountID != "acct_1" {
		t.Errorf("session after 010: %+v, %v", s, err)
	}
	// The one-owner rule holds on the memberships.
	err = db.SetDashboardRoles(ctx, "acct_1", map[string]amp.Role{"usr_v": amp.RoleOwner})
	if !errors.Is(err, amp.ErrConflict) {
		t.Errorf("a second owner after 010: %v, want ErrConflict", err)
	}
}
