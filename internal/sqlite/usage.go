package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// Metered usage (amp.UsageStore) and quota counts (amp.QuotaStore); see
// 002_usage.sql. The meter writes a batch every few seconds and the limiter
// a few quota deltas, so the statements are prepared per batch on the
// writer's connection, inside the group-commit transaction, rather than up
// front.

var _ amp.UsageStore = (*DB)(nil)

const sqlAddUsage = `INSERT INTO usage_counts
	(account_id, granularity, bucket_start, key_id, mode, route, status_class, country, admission, requests)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, granularity, bucket_start, key_id, route, status_class, country, admission)
	DO UPDATE SET requests = requests + excluded.requests`

const sqlAddQuota = `INSERT INTO quota_usage (account_id, month, requests) VALUES (?, ?, ?)
	ON CONFLICT (account_id, month) DO UPDATE SET requests = requests + excluded.requests`

// AddUsage adds rows to the stored counts in one transaction.
func (db *DB) AddUsage(ctx context.Context, rows []amp.UsageRow) error {
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		if err := rows[i].Validate(); err != nil {
			return fmt.Errorf("sqlite: add usage: %w", err)
		}
	}
	return db.write(ctx, func(w *writer) error {
		st, err := w.conn.PrepareContext(bg, sqlAddUsage)
		if err != nil {
			return db.mapErr("add usage", err)
		}
		defer st.Close()
		for i := range rows {
			r := &rows[i]
			if _, err := st.ExecContext(bg, r.AccountID, string(r.Granularity), encTime(r.Start), r.KeyID,
				string(r.Mode), r.Route, r.StatusClass, r.Country, string(r.Admission), r.Requests); err != nil {
				return db.mapErr("add usage", err)
			}
		}
		return nil
	})
}

// Usage returns the rows q selects, summed over the dimensions it drops.
func (db *DB) Usage(ctx context.Context, q amp.UsageQuery) ([]amp.UsageRow, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	query, args, err := usageQuery(q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: usage: %w", err)
	}
	rows, err := db.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.mapErr("usage", err)
	}
	defer rows.Close()
	var out []amp.UsageRow
	for rows.Next() {
		r := amp.UsageRow{Granularity: q.Granularity, AccountID: q.AccountID}
		var (
			start           int64
			mode, admission string
		)
		if err := rows.Scan(&start, &mode, &r.KeyID, &r.Route, &r.StatusClass, &r.Country, &admission, &r.Requests); err != nil {
			return nil, db.mapErr("usage", err)
		}
		r.Mode, r.Admission = amp.Mode(mode), amp.Admission(admission)
		if q.Dims&amp.DimStart != 0 || q.Dims == 0 {
			r.Start = decTime(start)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("usage", err)
	}
	return out, nil
}

// usageQuery builds the SELECT of q. Dropped dimensions are selected as
// constants and left out of GROUP BY; only fixed column names are ever
// written into the SQL.
func usageQuery(q amp.UsageQuery) (string, []any, error) {
	if err := q.Validate(); err != nil {
		return "", nil, err
	}
	dims := q.Dims
	if dims == 0 {
		dims = amp.DimAll
	}
	cols := []struct {
		dim       amp.UsageDims
		col, zero string
	}{
		{amp.DimStart, "bucket_start", "0"},
		{0, "mode", ""},
		{amp.DimKey, "key_id", "''"},
		{amp.DimRoute, "route", "''"},
		{amp.DimStatus, "status_class", "0"},
		{amp.DimCountry, "country", "''"},
		{amp.DimAdmission, "admission", "''"},
	}
	var sel, group []string
	for _, c := range cols {
		if c.dim == 0 || dims&c.dim != 0 {
			sel = append(sel, c.col)
			group = append(group, c.col)
		} else {
			sel = append(sel, c.zero)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString(", SUM(requests) FROM usage_counts WHERE account_id = ? AND granularity = ?")
	args := []any{q.AccountID, string(q.Granularity)}
	if q.KeyID != "" {
		b.WriteString(" AND key_id = ?")
		args = append(args, q.KeyID)
	}
	if q.Mode != "" {
		b.WriteString(" AND mode = ?")
		args = append(args, string(q.Mode))
	}
	if !q.From.IsZero() {
		b.WriteString(" AND bucket_start >= ?")
		args = append(args, encTime(q.From))
	}
	if !q.To.IsZero() {
		b.WriteString(" AND bucket_start < ?")
		args = append(args, encTime(q.To))
	}
	g := strings.Join(group, ", ")
	b.WriteString(" GROUP BY " + g + " ORDER BY " + g)
	return b.String(), args, nil
}

// pruneChunk is how many rows one pruning transaction deletes at most, so
// that a large deletion (the first after a long pause) never holds the one
// writer for long: other writes commit between the chunks.
const pruneChunk = 5000

const sqlPruneUsage = `DELETE FROM usage_counts
	WHERE (account_id, granularity, bucket_start, key_id, route, status_class, country, admission) IN (
		SELECT account_id, granularity, bucket_start, key_id, route, status_class, country, admission
		FROM usage_counts WHERE granularity = ? AND bucket_start < ? LIMIT ?)`

// PruneUsage deletes the rows of granularity g older than before, in
// chunks of pruneChunk rows per transaction.
func (db *DB) PruneUsage(ctx context.Context, g amp.Granularity, before time.Time) (int64, error) {
	if !g.Valid() {
		return 0, fmt.Errorf("sqlite: prune usage: invalid granularity %q", g)
	}
	var total int64
	for {
		var n int64
		err := db.write(ctx, func(w *writer) error {
			res, err := w.conn.ExecContext(bg, sqlPruneUsage, string(g), encTime(before), pruneChunk)
			if err != nil {
				return db.mapErr("prune usage", err)
			}
			n, err = res.RowsAffected()
			return db.mapErr("prune usage", err)
		})
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// AddQuotaUsage adds deltas to the monthly counts in one transaction.
func (db *DB) AddQuotaUsage(ctx context.Context, deltas []amp.QuotaDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	return db.write(ctx, func(w *writer) error {
		st, err := w.conn.PrepareContext(bg, sqlAddQuota)
		if err != nil {
			return db.mapErr("add quota usage", err)
		}
		defer st.Close()
		for _, d := range deltas {
			if _, err := st.ExecContext(bg, d.AccountID, encTime(amp.MonthStart(d.Month)), d.Delta); err != nil {
				return db.mapErr("add quota usage", err)
			}
		}
		return nil
	})
}

// QuotaUsage returns the stored count of the account's month.
func (db *DB) QuotaUsage(ctx context.Context, accountID string, month time.Time) (int64, error) {
	if db.closed.Load() {
		return 0, errClosed
	}
	var n int64
	err := db.rdb.QueryRowContext(ctx, "SELECT requests FROM quota_usage WHERE account_id = ? AND month = ?",
		accountID, encTime(amp.MonthStart(month))).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, db.mapErr("quota usage", err)
	}
	return n, nil
}
