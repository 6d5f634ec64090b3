package sqlite

import (
	"database/sql"
	"log/slog"
)

// WAL checkpoints copy committed pages from the WAL file back into the
// database file, fsyncing both. Left to SQLite's automatic checkpoint they
// would run inside a commit of the writer goroutine and stall every queued
// write meanwhile. So the writer connection checkpoints automatically only
// as a backstop (autocheckpointPages), and a goroutine of the DB runs a
// PASSIVE checkpoint on a connection of its own every checkpointEvery
// committed writes, alongside the writer, which keeps committing.
//
// The WAL file starts over from its beginning only when a write begins
// after a checkpoint copied all of it; under a steady flow of writes a
// concurrent checkpoint never quite catches up, and the file would grow.
// So once it holds restartFrames frames, the checkpointer follows its
// PASSIVE checkpoint with a RESTART one, which holds the writer back for
// the few frames committed in between and makes the next write start the
// WAL over.
const (
	checkpointEvery     = 1000
	restartFrames       = 8192  // 32 MiB of WAL at 4 KiB pages
	autocheckpointPages = 20000 // about 80 MiB
)

// checkpointStats counts the checkpointer's runs and records, after the
// last one, how many frames the WAL had and how many of them are now in the
// database file.
type checkpointStats struct {
	runs, frames, copied int64
}

// kickCheckpoint is called by the writer goroutine after each commit of n
// writes; every checkpointEvery writes it wakes the checkpointer, without
// waiting for it.
func (db *DB) kickCheckpoint(n int) {
	db.sinceCheckpoint += n
	if db.sinceCheckpoint < checkpointEvery {
		return
	}
	db.sinceCheckpoint = 0
	select {
	case db.ckptKick <- struct{}{}:
	default: // one is pending already
	}
}

// checkpoints is the checkpointer goroutine. Close stops it after the
// writer, which may still kick it while draining.
func (db *DB) checkpoints() {
	defer close(db.ckptStopped)
	for {
		select {
		case <-db.ckptStop:
			return
		case <-db.ckptKick:
			frames, copied, err := db.checkpoint("PASSIVE")
			if err == nil && frames >= restartFrames {
				frames, copied, err = db.checkpoint("RESTART")
			}
			if err != nil {
				db.log.Warn("sqlite: WAL checkpoint failed", slog.Any("err", err))
				continue
			}
			db.ckptMu.Lock()
			db.ckpt.runs++
			db.ckpt.frames, db.ckpt.copied = frames, copied
			db.ckptMu.Unlock()
		}
	}
}

// checkpoint runs a checkpoint of the given mode and returns how many
// frames the WAL had and how many of them are now in the database file. A
// checkpoint that could not finish for other connections (busy) is no
// error: the next one continues it.
func (db *DB) checkpoint(mode string) (frames, copied int64, err error) {
	var busy int64
	err = db.ckdb.QueryRowContext(bg, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	return frames, copied, err
}

// openCheckpointer opens the checkpointer's connection.
func (db *DB) openCheckpointer(syncMode string) error {
	var err error
	db.ckdb, err = sql.Open("sqlite", dsn(db.path, db.busyPragma, "synchronous("+syncMode+")"))
	if err != nil {
		return err
	}
	db.ckdb.SetMaxOpenConns(1)
	db.ckdb.SetMaxIdleConns(1)
	db.ckdb.SetConnMaxLifetime(0)
	db.ckdb.SetConnMaxIdleTime(0)
	return db.ckdb.PingContext(bg)
}
