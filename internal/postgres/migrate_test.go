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
