package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var (
	tenant = amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	t0     = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
)

func openTest(tb testing.TB, path string, opts ...Option) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path, append([]Option{WithLogger(quietLog)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func decision(id string) *amp.Decision {
	return &amp.Decision{
		RequestID: id, Tenant: tenant, UserID: "user_" + id, TaskType: "debugging",
		Recommendation: amp.Recommendation{
			Framing: amp.FramingMicroTask, Style: amp.StyleTechnical,
			Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate,
		},
		Propensity: 0.25, Confidence: 0.3, CreatedAt: t0,
	}
}

// blockWriter occupies the writer goroutine until the returned function is
// called, so that the writes queued meanwhile form one batch.
func blockWriter(t *testing.T, db *DB) (release func()) {
	t.Helper()
	entered, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.write(context.Background(), func(*writer) error {
			close(entered)
			<-unblock
			return nil
		})
	}()
	<-entered
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("blocking write: %v", err)
		}
	}
}

// waitQueued waits until n writes are queued behind a blocked writer.
func waitQueued(db *DB, n int) {
	for len(db.ops) < n {
		runtime.Gosched()
	}
}

// has reports whether the decision id is stored.
func has(t *testing.T, db *DB, id string) bool {
	t.Helper()
	var n int
	if err := db.rdb.QueryRowContext(t.Context(), "SELECT count(*) FROM decisions WHERE request_id = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestGroupCommit(t *testing.T) {
	t.Run("FailuresStayAlone", func(t *testing.T) {
		db := openTest(t, filepath.Join(t.TempDir(), "amp.db"))
		if err := db.SaveDecision(t.Context(), decision("req_existing"), nil); err != nil {
			t.Fatal(err)
		}
		errBoom := errors.New("boom")
		type result struct {
			name string
			err  error
		}
		writes := map[string]func() error{
			"ok_1": func() error { return db.SaveDecision(t.Context(), decision("req_ok_1"), nil) },
			"ok_2": func() error { return db.SaveDecision(t.Context(), decision("req_ok_2"), &amp.ProfileRecord{}) },
			"ok_3": func() error { return db.SetSetting(t.Context(), "k", "v") },
			"duplicate": func() error {
				return db.SaveDecision(t.Context(), decision("req_existing"), nil)
			},
			// Writes, then fails: its write must be rolled back.
			"writes_then_fails": func() error {
				return db.write(t.Context(), func(w *writer) error {
					if _, err := w.exec(w.insDecision, decisionArgs(decision("req_rolled_back"))...); err != nil {
						return err
					}
					return errBoom
				})
			},
			"panics": func() error {
				return db.write(t.Context(), func(w *writer) error {
					if _, err := w.exec(w.insDecision, decisionArgs(decision("req_panicked"))...); err != nil {
						return err
					}
					panic("write panicked on purpose")
				})
			},
			"apply_fails": func() error {
				_, err := db.UpdateProfile(t.Context(), tenant, "u", func(*amp.ProfileRecord, bool) error { return errBoom })
				return err
			},
		}
		release := blockWriter(t, db)
		writesBefore, before := db.WriterStats()
		results := make(chan result, len(writes))
		for name, fn := range writes {
			go func() { results <- result{name, fn()} }()
		}
		waitQueued(db, len(writes))
		release()
		got := make(map[string]error)
		for range writes {
			r := <-results
			got[r.name] = r.err
		}
		for _, name := range []string{"ok_1", "ok_2", "ok_3"} {
			if got[name] != nil {
				t.Errorf("%s: %v", name, got[name])
			}
		}
		if !errors.Is(got["duplicate"], amp.ErrConflict) {
			t.Errorf("duplicate: got %v, want ErrConflict", got["duplicate"])
		}
		for _, name := range []string{"writes_then_fails", "apply_fails"} {
			if !errors.Is(got[name], errBoom) {
				t.Errorf("%s: got %v, want %v", name, got[name], errBoom)
			}
		}
		if got["panics"] == nil {
			t.Error("panics: got nil error")
		}
		// The blocking write's batch, then one batch for all of them.
		writesAfter, after := db.WriterStats()
		if n := after - before; n != 2 {
			t.Errorf("committed transactions: got %d, want 2", n)
		}
		// The blocking write and ok_1, ok_2, ok_3: the failed ones were
		// rolled back.
		if n := writesAfter - writesBefore; n != 4 {
			t.Errorf("committed writes: got %d, want 4", n)
		}
		for id, want := range map[string]bool{"req_ok_1": true, "req_ok_2": true, "req_rolled_back": false, "req_panicked": false} {
			if has(t, db, id) != want {
				t.Errorf("decision %s stored: %v, want %v", id, !want, want)
			}
		}
		if _, err := db.Profile(t.Context(), tenant, "user_req_ok_2"); err != nil {
			t.Errorf("profile of ok_2: %v", err)
		}
		if _, err := db.Profile(t.Context(), tenant, "u"); !errors.Is(err, amp.ErrNotFound) {
			t.Errorf("profile of apply_fails: got %v, want ErrNotFound", err)
		}
	})

	t.Run("BrokenTransaction", func(t *testing.T) {
		// A write that ends the transaction under its batch-mates (as a
		// full disk would) fails those before it, whose work is lost, and
		// those after it run in a new transaction.
		db := openTest(t, filepath.Join(t.TempDir(), "amp.db"))
		errBreak := errors.New("broke the transaction")
		release := blockWriter(t, db)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		queue := func(i int, fn func() error) {
			wg.Go(func() { errs[i] = fn() })
			waitQueued(db, i+1)
		}
		queue(0, func() error { return db.SaveDecision(t.Context(), decision("req_before"), nil) })
		queue(1, func() error {
			return db.write(t.Context(), func(w *writer) error {
				w.rollbackTx()
				return errBreak
			})
		})
		queue(2, func() error { return db.SaveDecision(t.Context(), decision("req_after"), nil) })
		release()
		wg.Wait()
		if errs[0] == nil || has(t, db, "req_before") {
			t.Errorf("write before the break: error %v, stored %v; want an error and not stored", errs[0], has(t, db, "req_before"))
		}
		if !errors.Is(errs[1], errBreak) {
			t.Errorf("breaking write: got %v, want %v", errs[1], errBreak)
		}
		if errs[2] != nil || !has(t, db, "req_after") {
			t.Errorf("write after the break: error %v, stored %v; want no error and stored", errs[2], has(t, db, "req_after"))
		}
	})

	t.Run("NoSavepointWriteFailsAfterAChange", func(t *testing.T) {
		// A write without a savepoint that fails after it changed the
		// database cannot be undone alone: the transaction is rolled back,
		// the writes before it fail, those after it run in a new one.
		errBoom := errors.New("boom")
		for name, fail := range map[string]func() error{
			"error": func() error { return errBoom },
			"panic": func() error { panic("failed on purpose") },
		} {
			t.Run(name, func(t *testing.T) {
				db := openTest(t, filepath.Join(t.TempDir(), "amp.db"))
				release := blockWriter(t, db)
				var wg sync.WaitGroup
				errs := make([]error, 3)
				queue := func(i int, fn func() error) {
					wg.Go(func() { errs[i] = fn() })
					waitQueued(db, i+1)
				}
				queue(0, func() error { return db.SaveDecision(t.Context(), decision("req_before"), nil) })
				queue(1, func() error {
					return db.writeNoSavepoint(t.Context(), func(w *writer) error {
						if _, err := w.exec(w.insDecision, decisionArgs(decision("req_failed"))...); err != nil {
							return err
						}
						return fail()
					})
				})
				queue(2, func() error { return db.SaveDecision(t.Context(), decision("req_after"), nil) })
				release()
				wg.Wait()
				if errs[0] == nil || has(t, db, "req_before") {
					t.Errorf("write before the failure: error %v, stored %v; want an error and not stored", errs[0], has(t, db, "req_before"))
				}
				if errs[1] == nil || has(t, db, "req_failed") {
					t.Errorf("failing write: error %v, stored %v; want an error and not stored", errs[1], has(t, db, "req_failed"))
				}
				if name == "error" && !errors.Is(errs[1], errBoom) {
					t.Errorf("failing write: got %v, want %v", errs[1], errBoom)
				}
				if errs[2] != nil || !has(t, db, "req_after") {
					t.Errorf("write after the failure: error %v, stored %v; want no error and stored", errs[2], has(t, db, "req_after"))
				}
			})
		}
	})

	t.Run("CancelledWhileQueued", func(t *testing.T) {
		db := openTest(t, filepath.Join(t.TempDir(), "amp.db"))
		release := blockWriter(t, db)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- db.SaveDecision(ctx, decision("req_cancelled"), nil) }()
		waitQueued(db, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("SaveDecision: got %v, want context.Canceled", err)
		}
		// A write queued after it proves the writer has passed it.
		done := make(chan error, 1)
		go func() { done <- db.SaveDecision(t.Context(), decision("req_next"), nil) }()
		waitQueued(db, 2)
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if has(t, db, "req_cancelled") {
			t.Error("the cancelled write was stored")
		}
	})

	t.Run("ManyWriters", func(t *testing.T) {
		db := openTest(t, filepath.Join(t.TempDir(), "amp.db"), WithMaxBatch(16))
		const writers, each = 16, 40
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for g := range writers {
			wg.Go(func() {
				for i := range each {
					if err := db.SaveDecision(t.Context(), decision(fmt.Sprintf("req_%d_%d", g, i)), nil); err != nil {
						errs[g] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for g, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", g, err)
			}
		}
		var n int
		if err := db.rdb.QueryRowContext(t.Context(), "SELECT count(*) FROM decisions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != writers*each {
			t.Errorf("decisions stored: got %d, want %d", n, writers*each)
		}
	})
}

func TestCloseDrainsQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amp.db")
	db, err := Open(t.Context(), path, WithLogger(quietLog))
	if err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, db)
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- db.SaveDecision(t.Context(), decision(fmt.Sprintf("req_%02d", i)), nil) }()
	}
	waitQueued(db, n)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	for !db.closed.Load() {
		runtime.Gosched()
	}
	if err := db.SaveDecision(t.Context(), decision("req_late"), nil); !errors.Is(err, amp.ErrUnavailable) {
		t.Errorf("write after Close began: got %v, want ErrUnavailable", err)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("queued write: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	db = openTest(t, path)
	ds, err := db.Decisions(t.Context(), tenant, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Errorf("decisions after reopening: got %d, want %d", len(ds), n)
	}
}
