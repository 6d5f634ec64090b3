package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// mustOpen opens the database at path, failing tb on error. The caller
// closes it.
func mustOpen(tb testing.TB, path string, opts ...sqlite.Option) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, append([]sqlite.Option{sqlite.WithLogger(quiet)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) amp.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
	}, storetest.Reopen(func(t *testing.T, closed amp.Store) amp.Store {
		return mustOpen(t, closed.(*sqlite.DB).Path())
	}))
}

func TestStoreFullSync(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite already runs with the default options")
	}
	opts := []sqlite.Option{sqlite.WithFullSync(), sqlite.WithMaxBatch(3), sqlite.WithReadConns(1)}
	storetest.Run(t, func(t *testing.T) amp.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"), opts...)
	}, storetest.Reopen(func(t *testing.T, closed amp.Store) amp.Store {
		return mustOpen(t, closed.(*sqlite.DB).Path(), opts...)
	}))
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "amp.db"))
	defer db.Close()
	ctx := t.Context()
	tn := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	if err := db.CreateAccount(ctx, &amp.Account{ID: "acct_1", Name: "a", Plan: amp.PlanPro, CreatedAt: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	save := func(id string) error {
		return db.SaveDecision(ctx, &amp.Decision{RequestID: id, Tenant: tn, UserID: "u", CreatedAt: time.Unix(1700000000, 0)},
			&amp.ProfileRecord{Model: []byte("m")})
	}
	const before = 50
	for i := range before {
		if err := save(fmt.Sprintf("req_before_%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Writers keep going while the backup runs: the copy is consistent
	// whatever they do, and holds at least what was acknowledged before.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr atomic.Pointer[error]
	for g := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := save(fmt.Sprintf("req_during_%d_%d", g, i)); err != nil {
					writeErr.Store(&err)
					return
				}
			}
		})
	}
	dest := filepath.Join(dir, "backup.db")
	err := db.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if p := writeErr.Load(); p != nil {
		t.Fatalf("write during the backup: %v", *p)
	}
	if err := db.Backup(ctx, dest); !errors.Is(err, amp.ErrConflict) {
		t.Errorf("Backup onto an existing file: got %v, want ErrConflict", err)
	}

	cp := mustOpen(t, dest)
	defer cp.Close()
	ds, err := cp.Decisions(ctx, tn, time.Time{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]bool, len(ds))
	for _, d := range ds {
		ids[d.RequestID] = true
	}
	for i := range before {
		if id := fmt.Sprintf("req_before_%02d", i); !ids[id] {
			t.Errorf("backup lacks %s", id)
		}
	}
	if _, err := cp.Profile(ctx, tn, "u"); err != nil {
		t.Errorf("backup: Profile: %v", err)
	}
	if _, err := cp.Account(ctx, "acct_1"); err != nil {
		t.Errorf("backup: Account: %v", err)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if db, err := sqlite.Open(t.Context(), path, sqlite.WithLogger(quiet)); err == nil {
			db.Close()
			t.Errorf("Open(%q): got no error", path)
		}
	}
	if db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "amp.db"), sqlite.WithLogger(quiet)); err == nil {
		db.Close()
		t.Error("Open in a missing directory: got no error")
	}
}

func TestLockedByAnotherProcessIsUnavailable(t *testing.T) {
	// Another process (an admin command, say) holding the write lock past
	// the busy timeout makes writes fail with ErrUnavailable.
	path := filepath.Join(t.TempDir(), "amp.db")
	db := mustOpen(t, path, sqlite.WithBusyTimeout(time.Millisecond))
	defer db.Close()
	other := mustOpen(t, path)
	defer other.Close()
	release := make(chan struct{})
	holding := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := other.UpdateProfile(t.Context(), amp.Tenant{AccountID: "a", Mode: amp.ModeTest}, "u", func(p *amp.ProfileRecord, _ bool) error {
			close(holding)
			<-release
			return nil
		})
		done <- err
	}()
	<-holding
	err := db.SetSetting(t.Context(), "k", "v")
	close(release)
	if err2 := <-done; err2 != nil {
		t.Fatalf("the other store's write: %v", err2)
	}
	if !errors.Is(err, amp.ErrUnavailable) {
		t.Fatalf("write while another connection holds the lock: got %v, want ErrUnavailable", err)
	}
	if err := db.SetSetting(t.Context(), "k", "v"); err != nil {
		t.Fatalf("write once the lock is released: %v", err)
	}
}
