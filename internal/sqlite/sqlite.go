package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/amp-protocol/amp"
)

// Defaults of the options.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultMaxBatch    = 256
)

// Option configures Open.
type Option func(*config)

type config struct {
	fullSync    bool
	readConns   int
	busyTimeout time.Duration
	maxBatch    int
	logger      *slog.Logger
	cache       int64 // bytes of the learning cache; 0: no cache
}

// WithFullSync makes every commit durable against power loss and OS crashes
// (synchronous=FULL: an fsync per commit, shared by a whole group-commit
// batch). Without it a commit survives the crash of the process only.
func WithFullSync() Option { return func(c *config) { c.fullSync = true } }

// WithReadConns sets the size of the read pool (default: 4 × GOMAXPROCS).
// Reads take microseconds, so more connections than cores only spare
// readers the wait for a free one.
func WithReadConns(n int) Option { return func(c *config) { c.readConns = n } }

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process (such as an admin command writing to the same file)
// before failing with ErrUnavailable. The default is DefaultBusyTimeout.
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithMaxBatch caps how many queued writes share one transaction (default
// DefaultMaxBatch).
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = n } }

// WithCacheBytes keeps profile and population rows in memory, up to
// maxBytes of them (an eighth for populations, an eighth for the
// decisions saved that have no outcome yet), written through by the
// writer after each commit, so that reads of them skip SQLite (see
// cache.go). Entries are weighed by what they keep alive (their model,
// metadata and ids, plus a fixed overhead) and evicted by the clock
// algorithm when a shard is over its share, so the bound holds whatever the
// clients store: a profile costs at most about 17 KiB plus its model, since
// metadata is at most amp.MaxMetadataBytes and a userId
// amp.MaxUserIDBytes. The cache is sound only while this process is the
// only one writing learning rows to the file, so Open then takes an
// exclusive advisory lock on the file's path+".lock" until Close, and fails
// with amp.ErrUnavailable if another process holds it: the process serving
// the API should pass it (one per data directory); admin commands, which
// write accounts, keys and settings only, should not, and may run beside
// it. maxBytes <= 0 disables the cache.
func WithCacheBytes(maxBytes int64) Option { return func(c *config) { c.cache = maxBytes } }

// DefaultCacheBytes is the cache budget of a server with no better figure:
// with the learner's models of about 1 KiB and little metadata it holds
// some 150,000 profiles.
const DefaultCacheBytes = 256 << 20

// CacheBytes reports the cost of the rows cached, in bytes; 0 without the
// cache.
func (db *DB) CacheBytes() int64 {
	if db.cache == nil {
		return 0
	}
	return db.cache.size()
}

// WithLogger sets the logger of the store (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// DB is an amp.Store on a SQLite database file. It is safe for concurrent
// use; Close stops it.
type DB struct {
	path       string
	log        *slog.Logger
	busyPragma string

	rdb *sql.DB // read pool; query_only connections
	r   readStmts

	wdb *sql.DB  // holds exactly one connection: w.conn
	w   *writer  // used only by the writer goroutine once Open returns
	ops chan *op // queued writes

	// mu orders queueing against Close: a write is queued under the read
	// lock after checking closed, and Close sets closed under the write
	// lock, so once Close holds it no write can be queued any more and the
	// writer can drain the queue to the end.
	mu        sync.RWMutex
	closed    atomic.Bool
	closing   chan struct{} // closed by Close: drain the queue and stop
	stopped   chan struct{} // closed by the writer goroutine on exit
	closeOnce sync.Once
	closeErr  error

	maxBatch int
	batches  atomic.Int64 // committed transactions, for tests and metrics
	writes   atomic.Int64 // writes in them

	// writesFailing is set when SQLite reports a full or failing disk, and
	// cleared by Ping's probe write once one succeeds; probes counts those,
	// giving each probe a value of its own to write.
	writesFailing atomic.Bool
	probes        atomic.Int64

	// cache is nil without WithCache; lock is the file holding the
	// exclusive lock that the cache needs.
	cache *learningCache
	lock  *os.File

	// The checkpointer (checkpoint.go).
	ckdb            *sql.DB
	ckptKick        chan struct{}
	ckptStop        chan struct{}
	ckptStopped     chan struct{}
	sinceCheckpoint int         // writes since the last kick; writer goroutine only
	catchUpWanted   atomic.Bool // the checkpointer asks the writer to catch up
	ckptMu          sync.Mutex
	ckpt            checkpointStats
}

var _ amp.Store = (*DB)(nil)

// Open opens (creating if needed) the SQLite database at path, applies
// pending migrations and starts the writer goroutine. path must name a file;
// its directory must exist.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	cfg := config{
		readConns:   4 * runtime.GOMAXPROCS(0),
		busyTimeout: DefaultBusyTimeout,
		maxBatch:    DefaultMaxBatch,
		logger:      slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.readConns < 1 || cfg.maxBatch < 1 || cfg.busyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: open %s: invalid options", path)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want the path of a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sqlite: open %s: directory %s does not exist", path, filepath.Dir(abs))
	}
	// The file holds key and password hashes: create it owner-only, whatever
	// the umask. SQLite gives its WAL and shared-memory files the mode of
	// the database file.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	db := &DB{
		path:     abs,
		log:      cfg.logger,
		ops:      make(chan *op, 4*cfg.maxBatch),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
		maxBatch: cfg.maxBatch,

		ckptKick:    make(chan struct{}, 1),
		ckptStop:    make(chan struct{}),
		ckptStopped: make(chan struct{}),
	}
	if cfg.cache > 0 {
		// Before anything touches the file: a second server must not even
		// run migrations under the first.
		if db.lock, err = lockLearning(abs); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		db.cache = newLearningCache(cfg.cache)
	}
	if err := db.open(ctx, &cfg); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s: %w", path, err), db.closeConns())
	}
	go db.run()
	go db.checkpoints()
	return db, nil
}

func (db *DB) open(ctx context.Context, cfg *config) error {
	syncMode := "NORMAL"
	if cfg.fullSync {
		syncMode = "FULL"
	}
	busy := fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds())
	db.busyPragma = busy

	var err error
	db.wdb, err = sql.Open("sqlite", dsn(db.path,
		busy,
		"journal_mode(WAL)",
		"synchronous("+syncMode+")",
		"foreign_keys(1)",
		// Truncate the WAL back to walSizeLimit whenever a checkpoint
		// resets it, so that a burst of writes does not leave a larger file
		// behind: on a small volume a WAL kept at its high-water mark would
		// hold the space a full disk needs back.
		fmt.Sprintf("journal_size_limit(%d)", walSizeLimit),
		fmt.Sprintf("wal_autocheckpoint(%d)", autocheckpointPages),
	))
	if err != nil {
		return err
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxLifetime(0)
	db.wdb.SetConnMaxIdleTime(0)
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		conn.Close()
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		conn.Close()
		return fmt.Errorf("journal mode is %q, not wal (is the file on a network file system?)", mode)
	}
	if err := migrate(ctx, conn, db.log); err != nil {
		conn.Close()
		return err
	}
	if db.w, err = newWriter(ctx, conn); err != nil {
		conn.Close()
		return err
	}

	db.rdb, err = sql.Open("sqlite", dsn(db.path, busy, "query_only(1)"))
	if err != nil {
		return err
	}
	db.rdb.SetMaxOpenConns(cfg.readConns)
	db.rdb.SetMaxIdleConns(cfg.readConns)
	db.rdb.SetConnMaxLifetime(0)
	db.rdb.SetConnMaxIdleTime(0)
	if err := db.r.prepare(ctx, db.rdb); err != nil {
		return err
	}
	return db.openCheckpointer(syncMode)
}

// dsn is the modernc DSN of path with the given pragmas, run on every new
// connection.
func dsn(path string, pragmas ...string) string {
	u := url.URL{Scheme: "file", Path: path}
	q := make(url.Values)
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Path is the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Ping reports whether the store is open, its file readable and, after a
// write failed for a full or failing disk, writable again: the volume must
// then have FreeReserve bytes free (a small write may still fit on a disk
// where real writes fail) and a probe write (the setting probeSetting) must
// succeed, so that readiness recovers by itself once space is freed, with
// no traffic needed to notice.
func (db *DB) Ping(ctx context.Context) error {
	if db.closed.Load() {
		return errClosed
	}
	var one int
	if err := db.r.ping.QueryRowContext(ctx).Scan(&one); err != nil {
		return db.mapErr("ping", err)
	}
	if !db.writesFailing.Load() {
		return nil
	}
	if free, ok := freeBytes(filepath.Dir(db.path)); ok && free < FreeReserve {
		return fmt.Errorf("sqlite: ping: %w: %d bytes free on the volume, under the %d a write needs after it was full",
			amp.ErrUnavailable, free, FreeReserve)
	}
	n := db.probes.Add(1)
	err := db.writeNoSavepoint(ctx, func(w *writer) error {
		_, err := w.exec(w.setSetting, probeSetting, strconv.FormatInt(n, 10))
		return db.mapErr("ping: probe write", err)
	})
	if err != nil {
		return err
	}
	db.writesFailing.Store(false)
	return nil
}

// FreeReserve is the free space Ping requires of a volume that was full
// before it reports the store ready again.
const FreeReserve = 512 << 10

// probeSetting is the setting Ping writes to probe a disk that was full.
const probeSetting = "sqlite.write_probe"

// Close finishes every queued write, stops the writer and checkpointer
// goroutines and closes the database. Writes attempted after Close starts
// fail with amp.ErrUnavailable. Calling Close again, even concurrently,
// waits for the first call and returns its result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed.Store(true)
		db.mu.Unlock()
		close(db.closing)
		<-db.stopped
		close(db.ckptStop)
		<-db.ckptStopped
		// Closing the last connection checkpoints the WAL into the main
		// file and removes it, leaving a single-file database behind.
		db.closeErr = db.closeConns()
	})
	return db.closeErr
}

func (db *DB) closeConns() error {
	var errs []error
	if db.w != nil {
		errs = append(errs, db.w.close())
	}
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	errs = append(errs, db.r.close())
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	if db.ckdb != nil {
		errs = append(errs, db.ckdb.Close())
	}
	if db.lock != nil {
		// Closing the file releases the lock. The lock file stays: removing
		// it would let a waiting process lock a file that a third one
		// recreates beside it.
		errs = append(errs, db.lock.Close())
	}
	return errors.Join(errs...)
}

// Backup writes a consistent copy of the database, as of one moment, to
// destPath while the store keeps serving (VACUUM INTO). destPath must not
// exist yet; the copy is compacted, needs no WAL file and is created 0600,
// since it holds key and password hashes.
func (db *DB) Backup(ctx context.Context, destPath string) error {
	if db.closed.Load() {
		return errClosed
	}
	// VACUUM INTO accepts an empty file, so the copy is created here with
	// the mode it must have; O_EXCL refuses an existing one.
	f, err := os.OpenFile(destPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("sqlite: backup to %s: %w: file exists", destPath, amp.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", destPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", destPath, err)
	}
	done := false
	defer func() {
		if !done {
			os.Remove(destPath)
		}
	}()
	// A connection of its own: the read pool's are query_only, which
	// forbids VACUUM INTO, and the writer must keep serving meanwhile. The
	// copy is one read transaction, so it sees one moment of the database.
	conn, err := sql.Open("sqlite", dsn(db.path, db.busyPragma))
	if err != nil {
		return db.mapErr("backup to "+destPath, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", destPath); err != nil {
		return db.mapErr("backup to "+destPath, err)
	}
	if err := conn.Close(); err != nil {
		return db.mapErr("backup to "+destPath, err)
	}
	done = true
	return nil
}

var errClosed = fmt.Errorf("sqlite: %w: store closed", amp.ErrUnavailable)

// ready checks, before a point lookup, that the store is open and ctx not
// done. The lookup itself then runs under bg rather than ctx: it takes
// microseconds, and with a cancellable context database/sql and the driver
// would each start a goroutine per query to watch for its cancellation,
// which costs more than the lookup. Queries that scan many rows keep ctx.
func (db *DB) ready(ctx context.Context) error {
	if db.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

// mapErr wraps err with the amp sentinel it stands for, identified by the
// SQLite result code (never by message text), and with op for context.
func (db *DB) mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, amp.ErrNotFound) || errors.Is(err, amp.ErrConflict) || errors.Is(err, amp.ErrUnavailable) ||
		errors.Is(err, amp.ErrInvalidInput) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, amp.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w: %w", op, amp.ErrConflict, err)
		case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// The row refers to a parent that does not exist, such as a key
			// of an unknown account.
			return fmt.Errorf("sqlite: %s: %w: %w", op, amp.ErrNotFound, err)
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("sqlite: %s: %w: %w", op, amp.ErrUnavailable, err)
		case code&0xff == sqlite3.SQLITE_FULL, code&0xff == sqlite3.SQLITE_IOERR:
			// A full disk or a failing one: the client may retry later
			// (503 with Retry-After), and Ping fails until a write
			// succeeds again, so that a load balancer sends traffic
			// elsewhere meanwhile.
			db.writesFailing.Store(true)
			return fmt.Errorf("sqlite: %s: %w: %w", op, amp.ErrUnavailable, err)
		}
	}
	if db.closed.Load() && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlite: %s: %w: %w", op, amp.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
