package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	amp "github.com/amp-protocol/amp"
)

// TestMapErr checks the mapping of driver errors onto amp's sentinels by
// SQLSTATE and type, with the cause kept in the chain.
func TestMapErr(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "any text at all"})
	}
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		want error // nil: none of the sentinels
	}{
		{"NoRows", pgx.ErrNoRows, amp.ErrNotFound},
		{"UniqueViolation", pg("23505"), amp.ErrConflict},
		{"ForeignKeyViolation", pg("23503"), amp.ErrNotFound},
		{"CheckViolation", pg("23514"), nil},
		{"SyntaxError", pg("42601"), nil},
		{"AdminShutdown", pg("57P01"), amp.ErrUnavailable},
		{"CannotConnectNow", pg("57P03"), amp.ErrUnavailable},
		{"TooManyConnections", pg("53300"), amp.ErrUnavailable},
		{"ConnectionFailure", pg("08006"), amp.ErrUnavailable},
		{"Deadlock", pg("40P01"), amp.ErrUnavailable},
		{"SerializationFailure", pg("40001"), amp.ErrUnavailable},
		{"ConnectError", &pgconn.ConnectError{}, amp.ErrUnavailable},
		{"NetError", fmt.Errorf("read: %w", opErr), amp.ErrUnavailable},
		{"UnexpectedEOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), amp.ErrUnavailable},
		{"ConnClosed", pgconn.ErrConnClosed, amp.ErrUnavailable},
		{"ClosedPool", puddle.ErrClosedPool, amp.ErrUnavailable},
		{"Other", errors.New("boom"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mapErr(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("mapErr(%v) = %v: lost the cause", tc.err, got)
			}
			for _, s := range []error{amp.ErrNotFound, amp.ErrConflict, amp.ErrUnavailable} {
				if is, want := errors.Is(got, s), s == tc.want; is != want {
					t.Errorf("errors.Is(mapErr(%v), %v) = %v, want %v", tc.err, s, is, want)
				}
			}
		})
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
	// A cancelled request is left as it is: amp.ErrorCode maps it to
	// SERVICE_UNAVAILABLE without help, and it is not the store's fault.
	cancelled := fmt.Errorf("query: %w", context.Canceled)
	if got := mapErr(cancelled); got != cancelled {
		t.Errorf("mapErr(cancelled) = %v, want it unchanged", got)
	}
}

// TestMigrations checks the embedded files' names and order.
func TestMigrations(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations start at %v, want version 1", ms)
	}
	for i, m := range ms {
		// Increasing, not contiguous: numbers are handed out to changes
		// made side by side, so one may land before those below it.
		if i > 0 && m.version <= ms[i-1].version {
			t.Errorf("migration %s has version %d after %d: versions must increase", m.name, m.version, ms[i-1].version)
		}
		if m.sql == "" {
			t.Errorf("migration %s is empty", m.name)
		}
	}
}
