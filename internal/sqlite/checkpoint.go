package sqlite

import (
	"database/sql"
	"log/slog"
)

// WAL checkpoints copy committed pages from the WAL file back into the
// database file, fsyncing both. Left to SQLite's automatic checkpoint they
// would run inside a commit of the writer goroutine and stall every queued
// write meanwhile. So a goroutine of the DB runs a PASSIVE checkpoint on a
// connection of its own every checkpointEvery committed writes, alongside
// the writer, which keeps committing.
//
// The WAL file starts over from its beginning only when a write begins
// after a checkpoint copied all of it; under a steady flow of writes a
// concurrent checkpoint never quite catches up, and the file would grow.
// So once it holds restartFrames frames, the checkpointer makes a second
// pass and asks the writer to catch up: the next time the writer finds its queue empty it runs a
// PASSIVE checkpoint itself, on its own connection, which has only the
// frames committed since the checkpointer's pass left to copy, and its
// next write then starts the WAL over. No checkpoint ever waits for the
// writer or holds it back: the writer spends the time of that short copy
// (and its two fsyncs) only when nothing is queued. (A RESTART checkpoint
// on the checkpointer's connection did the same job by blocking the
// writer until it finished: 10 to 200 ms at 1,000 writes/s on a busy
// machine, the whole of the tail.)
//
// Should the queue never be empty, SQLite's automatic checkpoint on the
// writer's connection is the hard bound: it runs after a commit once the
// WAL holds autocheckpointPages frames, and copies little, the
// checkpointer having copied the rest.
//
// walSizeLimit is the size the WAL file is cut back to when it starts
// over. It is above what the file reaches between restarts under a steady
// load (32 to 65 MiB at 1,000 writes/s), so that the first commit after a
// restart does not truncate it: freeing some 50 MiB held that commit, and
// the requests queued behind it, for 15 to 55 ms, at every restart.
const (
	checkpointEvery     = 1000
	restartFrames       = 8192     // 32 MiB of WAL at 4 KiB pages
	autocheckpointPages = 20000    // about 80 MiB
	walSizeLimit        = 64 << 20 // bytes
)

// checkpointStats counts the checkpointer's runs and records, after the
// last one, how many frames the WAL had and how many of them are now in the
// database file; catchUps counts the writer's own checkpoints.
type checkpointStats struct {
	runs, frames, copied int64
	catchUps             int64
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
				// A second pass copies what was committed during the
				// first, leaving the writer's catch-up only what is
				// committed during this shorter one.
				frames, copied, err = db.checkpoint("PASSIVE")
				db.catchUpWanted.Store(true)
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

// catchUp is run by the writer goroutine between transactions, when its
// queue is empty: if the checkpointer asked for it, it checkpoints what
// the checkpointer left, so that the next write starts the WAL over. A
// checkpoint that could not copy everything (the checkpointer's is
// running, or a reader still reads an old snapshot) leaves the request
// standing for the next idle moment.
func (db *DB) catchUp() {
	if !db.catchUpWanted.Load() {
		return
	}
	var busy, frames, copied int64
	if err := db.w.conn.QueryRowContext(bg, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		db.log.Warn("sqlite: WAL checkpoint on the writer failed", slog.Any("err", err))
		db.catchUpWanted.Store(false) // the checkpointer asks again if need be
		return
	}
	if busy != 0 || copied < frames {
		return
	}
	db.catchUpWanted.Store(false)
	db.ckptMu.Lock()
	db.ckpt.catchUps++
	db.ckptMu.Unlock()
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
