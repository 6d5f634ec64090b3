package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

// The request log (amp.RequestLogStore; 009_team.sql), written by the
// service in batches once a second, off the request path.

var _ amp.RequestLogStore = (*DB)(nil)

const reqLogColumns = "account_id, mode, at, key_id, route, status, code, latency_us, country, request_id"

// AppendRequests stores entries with one COPY.
func (db *DB) AppendRequests(ctx context.Context, entries []*amp.RequestLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := db.checkOpen(); err != nil {
		return err
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{e.AccountID, string(e.Mode), e.At, e.KeyID, e.Route, int32(e.Status), e.Code, e.Latency.Microseconds(), e.Country, e.RequestID}
	}
	cols := strings.Split(reqLogColumns, ", ")
	if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{"request_log"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("postgres: append requests: %w", mapErr(err))
	}
	return nil
}

// Requests returns a tenant's entries matching f, newest first.
func (db *DB) Requests(ctx context.Context, t amp.Tenant, f amp.RequestLogFilter) ([]*amp.RequestLogEntry, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString("SELECT " + reqLogColumns + " FROM request_log WHERE account_id = $1 AND mode = $2")
	args := []any{t.AccountID, string(t.Mode)}
	add := func(cond string, v any) {
		args = append(args, v)
		q.WriteString(" AND " + cond + " $" + strconv.Itoa(len(args)))
	}
	if f.KeyID != "" {
		add("key_id =", f.KeyID)
	}
	if f.RequestID != "" {
		add("request_id =", f.RequestID)
	}
	if f.StatusMin > 0 {
		add("status >=", f.StatusMin)
	}
	if f.StatusMax > 0 {
		add("status <=", f.StatusMax)
	}
	if !f.Before.IsZero() {
		add("at <", f.Before)
	}
	args = append(args, min(f.Limit, amp.MaxRequestLogPage))
	q.WriteString(" ORDER BY at DESC, id DESC LIMIT $" + strconv.Itoa(len(args)))
	rows, err := db.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: requests: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*amp.RequestLogEntry
	for rows.Next() {
		var (
			e      amp.RequestLogEntry
			mode   string
			status int32
			latUS  int64
		)
		if err := rows.Scan(&e.AccountID, &mode, &e.At, &e.KeyID, &e.Route, &status, &e.Code, &latUS, &e.Country, &e.RequestID); err != nil {
			return nil, fmt.Errorf("postgres: requests: %w", mapErr(err))
		}
		e.Mode, e.At, e.Status, e.Latency = amp.Mode(mode), e.At.UTC(), int(status), time.Duration(latUS)*time.Microsecond
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: requests: %w", mapErr(err))
	}
	return out, nil
}

// PruneRequests deletes entries by age and beyond each tenant's newest
// keep.
func (db *DB) PruneRequests(ctx context.Context, before time.Time, keep int) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM request_log WHERE at < $1 OR id IN (
		SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY account_id, mode ORDER BY at DESC, id DESC) AS rn FROM request_log) r
		WHERE rn > $2)`, before, keep)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune requests: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}
