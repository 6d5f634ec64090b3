package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestCheckpointer(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "amp.db"))
	for i := range checkpointEvery {
		if err := db.SaveDecision(t.Context(), decision(fmt.Sprintf("req_%04d", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The last commit kicked the checkpointer; wait for it to finish.
	var st checkpointStats
	for st.runs == 0 {
		time.Sleep(time.Millisecond)
		db.ckptMu.Lock()
		st = db.ckpt
		db.ckptMu.Unlock()
	}
	if st.frames == 0 || st.copied == 0 {
		t.Errorf("checkpoint: %d frames in the WAL, %d copied; want both above 0", st.frames, st.copied)
	}
}

// TestWriterCatchUp checks that, when the checkpointer asks for it, the
// writer checkpoints the WAL itself once its queue is empty, and that its
// next write then starts the WAL over, without a checkpoint that waits for
// the writer.
func TestWriterCatchUp(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "amp.db"))
	write := func(id string) {
		t.Helper()
		if err := db.SaveDecision(t.Context(), decision(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Fewer writes than checkpointEvery: the checkpointer is not kicked.
	for i := range 100 {
		write(fmt.Sprintf("req_a%04d", i))
	}
	// A reader's snapshot keeps the checkpointer's pass from copying the
	// writes after it, as a steady flow of writes would.
	tx, err := db.rdb.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var count int
	if err := tx.QueryRow("SELECT count(*) FROM decisions").Scan(&count); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		write(fmt.Sprintf("req_b%04d", i))
	}
	before, copied, err := db.checkpoint("PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	if copied >= before {
		t.Fatalf("checkpoint copied %d of %d frames despite the reader", copied, before)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	db.catchUpWanted.Store(true)
	// This write's batch leaves the queue empty: the writer catches up
	// after it, and the request is then withdrawn.
	write("req_catchup")
	// It is withdrawn right after that batch; the bound only turns a
	// writer that never catches up into a failure rather than a hang.
	for deadline := time.Now().Add(30 * time.Second); db.catchUpWanted.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writer did not catch up")
		}
	}
	db.ckptMu.Lock()
	catchUps := db.ckpt.catchUps
	db.ckptMu.Unlock()
	if catchUps != 1 {
		t.Errorf("writer catch-ups: got %d, want 1", catchUps)
	}
	write("req_after")
	if after := walFrames(t, db); after >= before {
		t.Errorf("WAL holds %d frames after the catch-up and one more write, %d before: want it started over", after, before)
	}
}

// walFrames returns how many frames the WAL holds, by a PASSIVE checkpoint
// on the checkpointer's connection.
func walFrames(t *testing.T, db *DB) int64 {
	t.Helper()
	frames, _, err := db.checkpoint("PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	return frames
}
