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
