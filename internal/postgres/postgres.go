package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	amp "github.com/amp-protocol/amp"
)

// DB is an amp.Store on a PostgreSQL database. It is safe for concurrent
// use, and several DBs (in one process or many) may share one database.
type DB struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	// stop is closed by Close to end the analyser, which wg tracks so
	// that Close returns only once it is gone. mu orders Close against
	// itself; closed is read without it on every call.
	mu     sync.Mutex
	closed atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
	// stopCtx is cancelled with stop, for the analyser's queries.
	stopCtx    context.Context
	cancelStop context.CancelFunc

	// The analyser of young tables (analyze.go): decisions logged since
	// Open, the counts at which to analyse, its kick, and how many times
	// it has analysed.
	logged       atomic.Int64
	outcomeCount atomic.Int64 // outcomes stored since Open
	analyzeAt    []int64
	analyzeKick  chan struct{}
	analyzed     atomic.Int64

	pops popCache // populations read or folded lately (popcache.go)

	// The decision writer (groupcommit.go): queued SaveDecisions, and
	// closed when the writer has stopped.
	decisions     chan *decisionOp
	decisionsDone chan struct{}

	// The outcome writer (outcomes.go), likewise, and how many
	// transactions it committed and outcomes it wrote in them.
	outcomes      chan *outcomeOp
	outcomesDone  chan struct{}
	outcomeTxs    atomic.Int64
	outcomeWrites atomic.Int64

	// writesFailing is set when a write transaction fails for a full or
	// failing disk on the server, and cleared by Ping's probe write once
	// one succeeds; probes gives each probe a value of its own.
	writesFailing atomic.Bool
	probes        atomic.Int64
}

var _ amp.Store = (*DB)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	log       *slog.Logger
	migrate   bool
	analyzeAt []int64
	poolSize  int
}

// WithPoolSize sets the most connections the store opens (n > 0); 0 keeps
// the default of Open. A pool_max_conns in the URL wins over both.
func WithPoolSize(n int) Option { return func(o *options) { o.poolSize = n } }

// WithLogger sets the logger for migrations and the analyser.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithoutMigrate makes Open skip Migrate, for deployments that migrate with
// `amp migrate` under a more privileged role than the server's.
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// Open connects to the database at url (postgres://… or key=value form; the
// pgxpool settings such as pool_max_conns are accepted), checks that it is
// reachable and applies pending migrations. A database that cannot be
// reached yields an error wrapping amp.ErrUnavailable.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	o := options{log: slog.Default(), migrate: true, analyzeAt: defaultAnalyzeAt}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error redacts the password; the URL itself is never logged.
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	// An acknowledged write must be on disk (docs/api.md#durability),
	// whatever the server's default; an operator may still choose
	// otherwise in the URL.
	if _, ok := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !ok {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "amp"
	}
	// ParseConfig leaves no trace of pool_max_conns but its value.
	if !strings.Contains(url, "pool_max_conns") {
		if o.poolSize > 0 {
			cfg.MaxConns = int32(min(o.poolSize, maxPoolSize))
		} else {
			n, err := defaultPoolSize(ctx, cfg.ConnConfig)
			if err != nil {
				return nil, fmt.Errorf("postgres: open: %w", mapErr(err))
			}
			cfg.MaxConns = int32(n)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", mapErr(err))
	}
	db := &DB{pool: pool, log: o.log, stop: make(chan struct{}),
		analyzeAt: o.analyzeAt, analyzeKick: make(chan struct{}, 1)}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if o.migrate {
		if err := db.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	db.stopCtx, db.cancelStop = context.WithCancel(context.Background())
	db.decisions = make(chan *decisionOp, 4*maxDecisionBatch)
	db.decisionsDone = make(chan struct{})
	db.outcomes = make(chan *outcomeOp, 4*maxOutcomeBatch)
	db.outcomesDone = make(chan struct{})
	db.wg.Add(3)
	go db.analyzer()
	go db.decisionWriter()
	go db.outcomeWriter()
	return db, nil
}

// maxPoolSize bounds WithPoolSize.
const maxPoolSize = 1024

// defaultPoolSize is the pool's size unless the URL or WithPoolSize says
// otherwise: what the instance can keep busy, 4 per GOMAXPROCS (a request
// holds a connection only for its reads, the writers one each for a whole
// batch), at least 4; but at most a quarter of the connections the server
// accepts from ordinary roles (max_connections less
// superuser_reserved_connections), so that four instances fit beside an
// administrator's sessions. It asks the server on a connection of its own.
func defaultPoolSize(ctx context.Context, cc *pgx.ConnConfig) (int, error) {
	want := max(4, 4*runtime.GOMAXPROCS(0))
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var maxConns, reserved int
	if err := conn.QueryRow(ctx, `SELECT current_setting('max_connections')::integer,
		current_setting('superuser_reserved_connections')::integer`).Scan(&maxConns, &reserved); err != nil {
		return 0, err
	}
	return max(2, min(want, (maxConns-reserved)/4)), nil
}

// PoolSize returns the most connections the store opens.
func (db *DB) PoolSize() int { return int(db.pool.Config().MaxConns) }

// Ping reports whether the database is reachable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", mapErr(err))
	}
	if !db.writesFailing.Load() {
		return nil
	}
	// Writes failed for the server's disk: ready only once one succeeds
	// again, so that /readyz recovers by itself when space is freed.
	if err := db.SetSetting(ctx, probeSetting, strconv.FormatInt(db.probes.Add(1), 10)); err != nil {
		return fmt.Errorf("postgres: ping: probe write: %w", err)
	}
	db.writesFailing.Store(false)
	return nil
}

// probeSetting is the setting Ping writes to probe a server whose disk was
// full.
const probeSetting = "postgres.write_probe"

// noteWrite records, for Ping, that a write failed for the server's disk
// (disk_full, io_error), and returns err.
func (db *DB) noteWrite(err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && (pgErr.Code == codeDiskFull || pgErr.Code == codeIOError) {
		db.writesFailing.Store(true)
	}
	return err
}

// Close stops the analyser and the writers, once they have written what
// was queued, and closes the pool. Every write a method acknowledged is already committed; Close waits
// for queries in flight to return their connections. Later calls return
// amp.ErrUnavailable.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed.Load() {
		db.mu.Unlock()
		return nil
	}
	db.closed.Store(true)
	close(db.stop)
	db.cancelStop()
	db.mu.Unlock()
	db.wg.Wait()
	db.pool.Close()
	return nil
}

func (db *DB) checkOpen() error {
	if db.closed.Load() {
		return fmt.Errorf("postgres: %w: closed", amp.ErrUnavailable)
	}
	return nil
}

// SQLSTATE codes the store maps onto amp's sentinels.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeTooManyConnections   = "53300"
	codeDiskFull             = "53100"
	codeIOError              = "58030"
	// Text PostgreSQL cannot hold: invalid UTF-8 or NUL in text (22021),
	// \u0000 in jsonb (22P05).
	codeCharacterNotInRepertoire = "22021"
	codeUntranslatableCharacter  = "22P05"
	classConnectionException     = "08"
	classInsufficientRes         = "53"
)

// mapErr maps a pgx error onto amp's sentinels, keeping the cause in the
// chain for the log: no rows or a missing parent row → ErrNotFound, a
// unique violation → ErrConflict, anything that says the server is unreachable, shutting down
// or overloaded → ErrUnavailable. Errors are told apart by SQLSTATE and
// type, never by message text. A cancelled context stays as it is: the
// service maps it on its own.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", amp.ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == codeUniqueViolation:
			return fmt.Errorf("%w: %w", amp.ErrConflict, err)
		case pgErr.Code == codeCharacterNotInRepertoire, pgErr.Code == codeUntranslatableCharacter:
			return fmt.Errorf("%w: %w", amp.ErrInvalidInput, err)
		case pgErr.Code == codeForeignKeyViolation:
			// The row refers to a parent that does not exist, such as a
			// key of an unknown account.
			return fmt.Errorf("%w: %w", amp.ErrNotFound, err)
		case pgErr.Code == codeSerializationFailure, pgErr.Code == codeDeadlockDetected,
			pgErr.Code == codeAdminShutdown, pgErr.Code == codeCrashShutdown,
			pgErr.Code == codeCannotConnectNow, pgErr.Code == codeTooManyConnections,
			len(pgErr.Code) == 5 && (pgErr.Code[:2] == classConnectionException || pgErr.Code[:2] == classInsufficientRes):
			// A deadlock or serialisation failure is transient too: the
			// caller may retry the whole request.
			return fmt.Errorf("%w: %w", amp.ErrUnavailable, err)
		}
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, puddle.ErrClosedPool) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", amp.ErrUnavailable, err)
	}
	return err
}

// inTx runs fn in a read-committed transaction and commits it. Errors of
// fn are returned as they are (fn maps its own); errors of the transaction
// itself are mapped.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer func() {
		// After a successful Commit this is a no-op; otherwise it releases
		// the locks at once. Its own error adds nothing to fn's.
		_ = tx.Rollback(context.WithoutCancel(ctx))
	}()
	if err := fn(tx); err != nil {
		return db.noteWrite(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return db.noteWrite(mapErr(err))
	}
	return nil
}

// utc normalises a time to what a timestamptz round trip gives back:
// microseconds, in UTC. Records the store returns without reading them back
// pass through it, so that they equal what a later read returns.
func utc(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}
