package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// keyChangesChannel is the NOTIFY channel UpdateKey signals on.
	keyChangesChannel = "amp_key_changes"
	// listenerAppSuffix ends the application_name of KeyChanges'
	// connections ("amp-key-listener" by default), which tells them apart
	// in pg_stat_activity.
	listenerAppSuffix = "-key-listener"
	// AllKeys is sent on a KeyChanges channel when changes may have been
	// missed: every cached key must be treated as changed.
	AllKeys = ""
)

// Reconnection backoff of a KeyChanges listener whose connection broke.
const (
	minListenBackoff = 100 * time.Millisecond
	maxListenBackoff = 5 * time.Second
)

// KeyChanges reports the API keys that UpdateKey changes, on this or any
// other instance sharing the database, so that a cache of keys can drop
// them: it receives the id of each key whose update committed, typically a
// few milliseconds after the commit.
//
// KeyChanges returns once it is listening, so that no change committed after
// it returns is missed, or with an error if it cannot listen. It holds one
// dedicated connection, outside the pool, until ctx is done or the DB is
// closed; then it closes the channel. If that connection breaks, it
// reconnects (retrying with backoff) and then sends AllKeys (""), because
// changes made while it was away were not seen. The receiver must keep
// reading: a receiver that stops holds up the listener, not the writers.
func (db *DB) KeyChanges(ctx context.Context) (<-chan string, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	conn, err := db.listenConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: listen for key changes: %w", err)
	}
	// Close may have run while connecting; under mu, either it has (and
	// this listener must not start) or its wg.Wait will see this Add.
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.checkOpen(); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	ch := make(chan string, 16)
	db.wg.Add(1)
	go func() {
		defer db.wg.Done()
		defer close(ch)
		// ctx ends the loop, and so does Close through db.stop.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-db.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		db.relayKeyChanges(ctx, conn, ch)
	}()
	return ch, nil
}

// listenConn opens a connection that listens on keyChangesChannel.
func (db *DB) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.listen)
	if err != nil {
		return nil, mapErr(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+keyChangesChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, mapErr(err)
	}
	return conn, nil
}

// relayKeyChanges forwards notifications from conn to ch until ctx is done,
// replacing conn whenever it breaks.
func (db *DB) relayKeyChanges(ctx context.Context, conn *pgx.Conn, ch chan<- string) {
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	backoff := minListenBackoff
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			c, err := db.listenConn(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				backoff = min(2*backoff, maxListenBackoff)
				db.log.Warn("postgres: key-change listener cannot reconnect", slog.Any("error", err))
				continue
			}
			conn, backoff = c, minListenBackoff
			db.log.Info("postgres: key-change listener reconnected")
			if !send(ctx, ch, AllKeys) {
				return
			}
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			db.log.Warn("postgres: key-change listener lost its connection", slog.Any("error", err))
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
			continue
		}
		if !send(ctx, ch, n.Payload) {
			return
		}
	}
}

func send(ctx context.Context, ch chan<- string, id string) bool {
	select {
	case ch <- id:
		return true
	case <-ctx.Done():
		return false
	}
}
