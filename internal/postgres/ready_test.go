package postgres_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
)

// TestReadyAfterDiskFull: a write that fails for the server's full disk is
// ErrUnavailable (a 503 with Retry-After), and Ping then probes with a
// write, so that readiness follows whether writes work; the server's disk
// cannot be filled from here, so the failure is injected.
func TestReadyAfterDiskFull(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Setting(ctx, "postgres.write_probe"); v != "" {
		t.Fatalf("a probe before any failure: %q", v)
	}
	full := &pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}
	err := db.FailWriteWith(ctx, full)
	if !errors.As(err, new(*pgconn.PgError)) {
		t.Fatalf("FailWriteWith: %v", err)
	}
	// The mapping the store applies to driver errors makes it a 503.
	if got := amp.ErrorCode(postgres.MapErr(full)); got != amp.CodeServiceUnavailable {
		t.Fatalf("disk_full maps to %s, want SERVICE_UNAVAILABLE", got)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping with writes working again: %v", err)
	}
	if v, _ := db.Setting(ctx, "postgres.write_probe"); v != "1" {
		t.Fatalf("Ping after a failed write did not probe with a write (setting %q)", v)
	}
	// Once the probe succeeded, Ping stops writing.
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Setting(ctx, "postgres.write_probe"); v != "1" {
		t.Fatalf("Ping probed again after recovering (setting %q)", v)
	}
}
