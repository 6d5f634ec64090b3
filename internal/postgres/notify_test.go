package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
)

// hangGuard bounds how long a test waits for a notification, so that a
// broken listener fails the test instead of hanging it. It is no latency
// assertion: a delivery takes milliseconds.
const hangGuard = 30 * time.Second

// waitFor reads ch until want arrives, skipping ids of other keys (other
// tests in this database may update keys too).
func waitFor(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case id, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed while waiting for %q", want)
			}
			if id == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q on the key-change channel after %v", want, hangGuard)
		}
	}
}

func createKey(t *testing.T, db *postgres.DB, id string) *amp.APIKey {
	t.Helper()
	ctx := context.Background()
	acct := &amp.Account{ID: "acct_" + id, Name: "n", Plan: amp.PlanStarter, CreatedAt: testNow}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	k := &amp.APIKey{ID: id, AccountID: acct.ID, Mode: amp.ModeLive, Name: "k", Hash: "hash_" + id,
		Last4: "abcd", Scopes: amp.AllScopes, CreatedAt: testNow}
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyChangesAcrossInstances revokes a key on one instance and sees the
// id arrive at another's listener.
func TestKeyChangesAcrossInstances(t *testing.T) {
	u, _ := newSchema(t)
	a, b := openURL(t, u), openURL(t, u)
	k := createKey(t, a, "key_revoked")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.KeyChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked := testNow
	k.RevokedAt = &revoked
	if err := a.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, k.ID)

	// An update of an unknown key notifies nobody and says so.
	if err := a.UpdateKey(ctx, &amp.APIKey{ID: "key_missing"}); !errors.Is(err, amp.ErrNotFound) {
		t.Errorf("UpdateKey(missing) = %v, want ErrNotFound", err)
	}

	cancel()
	for range ch { // drains and ends: the channel is closed once ctx is done
	}
}

// TestKeyChangesReconnects kills the listener's connection from the server
// side: the listener reconnects, sends AllKeys because it may have missed
// changes, and then delivers changes again.
func TestKeyChangesReconnects(t *testing.T) {
	u, schema := newSchema(t)
	db := openURL(t, u)
	k := createKey(t, db, "key_reconnect")
	ctx := context.Background()
	ch, err := db.KeyChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}

	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	err = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, "amp_"+schema+"-key-listener").Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listener connections, want 1", killed)
	}
	waitFor(t, ch, postgres.AllKeys)

	k.Name = "renamed"
	if err := db.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, k.ID)
}

// TestKeyChangesClose closes the DB under a listener: the channel closes
// and later calls fail as unavailable.
func TestKeyChangesClose(t *testing.T) {
	u, _ := newSchema(t)
	db, err := postgres.Open(context.Background(), u, postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := db.KeyChanges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waited for the listener to stop, so the channel is closed now.
	select {
	case id, ok := <-ch:
		if ok {
			t.Fatalf("received %q after Close, want a closed channel", id)
		}
	default:
		t.Fatal("channel still open after Close returned")
	}
	if _, err := db.KeyChanges(context.Background()); !errors.Is(err, amp.ErrUnavailable) {
		t.Errorf("KeyChanges after Close = %v, want ErrUnavailable", err)
	}
}
