package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
)

// TestMigrateConcurrently starts several instances on an empty schema at
// once, as a deployment does: the advisory lock lets one migrate while the
// others wait, so every Open succeeds and each migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	u, _ := newSchema(t)
	const instances = 4
	var wg sync.WaitGroup
	errs := make(chan error, instances)
	for range instances {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), u, postgres.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				errs <- err
				return
			}
			errs <- db.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 || versions[0] != 1 {
		t.Fatalf("schema_migrations = %v, want versions from 1", versions)
	}
	for i := 1; i < len(versions); i++ {
		if versions[i] <= versions[i-1] {
			t.Errorf("schema_migrations = %v: not strictly increasing", versions)
		}
	}

	// Migrate again: nothing to do, nothing fails.
	db := openURL(t, u, postgres.WithoutMigrate())
	if err := db.Migrate(ctx); err != nil {
		t.Errorf("second Migrate: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(versions) {
		t.Errorf("%d migrations recorded after a second Migrate, want %d", n, len(versions))
	}
}

// TestWithoutMigrate leaves an empty schema empty: a server that must not
// migrate fails on its first query instead.
func TestWithoutMigrate(t *testing.T) {
	u, _ := newSchema(t)
	db := openURL(t, u, postgres.WithoutMigrate())
	if _, err := db.Accounts(context.Background()); err == nil {
		t.Error("Accounts on an unmigrated schema succeeded")
	}
}

// TestOpenUnreachable opens a port where nothing listens: the error is
// ErrUnavailable, which the service answers with 503. It needs no server.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = postgres.Open(context.Background(), "postgres://amp@"+addr+"/amp?sslmode=disable&connect_timeout=5")
	if !errors.Is(err, amp.ErrUnavailable) {
		t.Fatalf("Open(unreachable) = %v, want ErrUnavailable", err)
	}
}

// TestClosed checks that every kind of call on a closed store says
// unavailable, not an internal error.
func TestClosed(t *testing.T) {
	u, _ := newSchema(t)
	db, err := postgres.Open(context.Background(), u, postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "a", Mode: amp.ModeTest}
	for name, call := range map[string]func() error{
		"Ping":      func() error { return db.Ping(ctx) },
		"Account":   func() error { _, err := db.Account(ctx, "a"); return err },
		"KeyByHash": func() error { _, err := db.KeyByHash(ctx, "h"); return err },
		"SaveDecision": func() error {
			return db.SaveDecision(ctx, decision(tenant, "r", "u", testNow), nil)
		},
		"RecordOutcome": func() error { _, err := db.RecordOutcome(ctx, tenant, "r", learn); return err },
		"Migrate":       func() error { return db.Migrate(ctx) },
	} {
		if err := call(); !errors.Is(err, amp.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

// TestMigration010CarriesMembers: the users and sessions of a database at
// version 9 (one account and role per user) become members with the same
// role, and sessions acting for that account.
func TestMigration010CarriesMembers(t *testing.T) {
	u, _ := newSchema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := postgres.MigrateBelow(ctx, conn, 10); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO accounts (id, name, plan, custom_rate, holdout_percent, created_at) VALUES ('acct_1', 'One', 'starter', 0, 0, now())",
		`INSERT INTO dashboard_users (id, email, password_hash, account_id, created_at, password_changed_at, role) VALUES
			('usr_o', 'o@example.com', 'h', 'acct_1', '2026-01-01T00:00:00Z', now(), 'owner'),
			('usr_v', 'v@example.com', 'h', 'acct_1', '2026-01-02T00:00:00Z', now(), 'viewer')`,
		"INSERT INTO dashboard_sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES ('hash_v', 'usr_v', now(), now(), now() + interval '1 day')",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db := openURL(t, u)
	us, err := db.DashboardUsers(ctx, "acct_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 || us[0].ID != "usr_o" || us[0].Role != amp.RoleOwner || us[1].ID != "usr_v" || us[1].Role != amp.RoleViewer ||
		us[1].JoinedAt.Day() != 2 {
		t.Fatalf("members after 010: %+v", us)
	}
	if got, err := db.DashboardUser(ctx, "usr_v"); err != nil || got.AccountID != "acct_1" || got.Role != amp.RoleViewer {
		t.Errorf("usr_v after 010: %+v, %v", got, err)
	}
	if s, err := db.DashboardSession(ctx, "hash_v"); err != nil || s.AccountID != "acct_1" {
		t.Errorf("session after 010: %+v, %v", s, err)
	}
	if err := db.SetDashboardRoles(ctx, "acct_1", map[string]amp.Role{"usr_v": amp.RoleOwner}); !errors.Is(err, amp.ErrConflict) {
		t.Errorf("a second owner after 010: %v, want ErrConflict", err)
	}
}
