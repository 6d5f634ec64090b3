package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// The request log (amp.RequestLogStore; 009_team.sql). The service writes
// it in batches, once a second, off the request path.

var _ amp.RequestLogStore = (*DB)(nil)

const (
	reqLogCols   = "account_id, mode, at, key_id, route, status, code, latency_us, country, request_id"
	sqlInsReqLog = "INSERT INTO request_log (" + reqLogCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	// sqlPruneReqLog deletes by age, then beyond each tenant's newest ?2.
	sqlPruneReqLog = `DELETE FROM request_log WHERE at < ?1 OR id IN (
		SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY account_id, mode ORDER BY at DESC, id DESC) AS rn FROM request_log)
		WHERE rn > ?2)`
)

// reqLogChunk is how many entries one statement of AppendRequests inserts
// (sqlInsReqLogChunk): a statement per entry cost the writer about as much
// as the row itself, and a second's batch is one write that every other
// write queued meanwhile waits for.
const reqLogChunk = 32

// sqlInsReqLogChunk inserts reqLogChunk entries.
var sqlInsReqLogChunk = sqlInsReqLog + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reqLogChunk-1)

// AppendRequests stores entries in one transaction.
func (db *DB) AppendRequests(ctx context.Context, entries []*amp.RequestLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	// The arguments are built here, off the writer goroutine.
	args := make([]any, 0, 10*len(entries))
	for _, e := range entries {
		args = append(args, e.AccountID, string(e.Mode), encTime(e.At), e.KeyID, e.Route, e.Status, e.Code,
			e.Latency.Microseconds(), e.Country, e.RequestID)
	}
	return db.write(ctx, func(w *writer) error {
		rest := args
		for len(rest) >= 10*reqLogChunk {
			if _, err := w.insReqLogChunk.ExecContext(bg, rest[:10*reqLogChunk]...); err != nil {
				return db.mapErr("append requests", err)
			}
			rest = rest[10*reqLogChunk:]
		}
		for ; len(rest) > 0; rest = rest[10:] {
			if _, err := w.insReqLog.ExecContext(bg, rest[:10]...); err != nil {
				return db.mapErr("append requests", err)
			}
		}
		return nil
	})
}

// Requests returns a tenant's entries matching f, newest first.
func (db *DB) Requests(ctx context.Context, t amp.Tenant, f amp.RequestLogFilter) ([]*amp.RequestLogEntry, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	if f.Limit <= 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString("SELECT " + reqLogCols + " FROM request_log WHERE account_id = ? AND mode = ?")
	args := []any{t.AccountID, string(t.Mode)}
	if f.KeyID != "" {
		q.WriteString(" AND key_id = ?")
		args = append(args, f.KeyID)
	}
	if f.RequestID != "" {
		q.WriteString(" AND request_id = ?")
		args = append(args, f.RequestID)
	}
	if f.StatusMin > 0 {
		q.WriteString(" AND status >= ?")
		args = append(args, f.StatusMin)
	}
	if f.StatusMax > 0 {
		q.WriteString(" AND status <= ?")
		args = append(args, f.StatusMax)
	}
	if !f.Before.IsZero() {
		q.WriteString(" AND at < ?")
		args = append(args, encTime(f.Before))
	}
	q.WriteString(" ORDER BY at DESC, id DESC LIMIT ?")
	args = append(args, min(f.Limit, amp.MaxRequestLogPage))
	rows, err := db.rdb.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, db.mapErr("requests", err)
	}
	defer rows.Close()
	var out []*amp.RequestLogEntry
	for rows.Next() {
		var (
			e         amp.RequestLogEntry
			mode      string
			at, latUS int64
		)
		if err := rows.Scan(&e.AccountID, &mode, &at, &e.KeyID, &e.Route, &e.Status, &e.Code, &latUS, &e.Country, &e.RequestID); err != nil {
			return nil, db.mapErr("requests", err)
		}
		e.Mode, e.At, e.Latency = amp.Mode(mode), decTime(at), time.Duration(latUS)*time.Microsecond
		out = append(out, &e)
	}
	return out, db.mapErr("requests", rows.Err())
}

// PruneRequests deletes entries by age and beyond each tenant's newest
// keep.
func (db *DB) PruneRequests(ctx context.Context, before time.Time, keep int) (int64, error) {
	var n int64
	err := db.write(ctx, func(w *writer) error {
		var err error
		n, err = dashExec(w, sqlPruneReqLog, encTime(before), keep)
		return db.mapErr("prune requests", err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
