package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

// Metered usage (amp.UsageStore) and quota counts (amp.QuotaStore); see
// 002_usage.sql.
//
// Every instance's meter and limiter add to the same rows, so a batch is
// written as one INSERT … ON CONFLICT DO UPDATE over arrays (one statement,
// one round trip, however many rows), after merging rows with one key and
// sorting by key. The sort makes every batch lock its rows in one order:
// two instances flushing overlapping batches wait for each other instead
// of deadlocking.

var _ amp.UsageStore = (*DB)(nil)

// usageKey is the primary key of usage_counts.
type usageKey struct {
	account, granularity string
	start                time.Time
	key, route           string
	class                int
	country, admission   string
}

func compareUsageKeys(a, b usageKey) int {
	return cmp.Or(
		cmp.Compare(a.account, b.account), cmp.Compare(a.granularity, b.granularity), a.start.Compare(b.start),
		cmp.Compare(a.key, b.key), cmp.Compare(a.route, b.route), cmp.Compare(a.class, b.class),
		cmp.Compare(a.country, b.country), cmp.Compare(a.admission, b.admission))
}

// AddUsage adds each row's Requests to its stored row, in one statement.
// A row without account or key, or with an unknown granularity or mode,
// fails the whole batch.
func (db *DB) AddUsage(ctx context.Context, rows []amp.UsageRow) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	type merged struct {
		mode     string
		requests int64
	}
	byKey := make(map[usageKey]*merged, len(rows))
	for i := range rows {
		r := &rows[i]
		if err := r.Validate(); err != nil {
			return fmt.Errorf("postgres: add usage: %w", err)
		}
		// Microseconds, UTC: the key as the database will compare it.
		k := usageKey{r.AccountID, string(r.Granularity), utc(r.Start), r.KeyID, r.Route, r.StatusClass, r.Country, string(r.Admission)}
		if m, ok := byKey[k]; ok {
			m.requests += r.Requests
			continue
		}
		byKey[k] = &merged{string(r.Mode), r.Requests}
	}
	keys := make([]usageKey, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUsageKeys)
	var (
		accounts, grans, keyIDs, modes, routes, countries, admissions = make([]string, len(keys)), make([]string, len(keys)),
			make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		starts   = make([]time.Time, len(keys))
		classes  = make([]int32, len(keys))
		requests = make([]int64, len(keys))
	)
	for i, k := range keys {
		m := byKey[k]
		accounts[i], grans[i], starts[i], keyIDs[i], modes[i] = k.account, k.granularity, k.start, k.key, m.mode
		routes[i], classes[i], countries[i], admissions[i], requests[i] = k.route, int32(k.class), k.country, k.admission, m.requests
	}
	// WITH ORDINALITY … ORDER BY keeps the sorted order for the inserts.
	_, err := db.pool.Exec(ctx, `INSERT INTO usage_counts
			(account_id, granularity, bucket_start, key_id, mode, route, status_class, country, admission, requests)
		SELECT account_id, granularity, bucket_start, key_id, mode, route, status_class, country, admission, requests
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::text[], $9::text[], $10::bigint[])
			WITH ORDINALITY AS r(account_id, granularity, bucket_start, key_id, mode, route, status_class, country, admission, requests, n)
		ORDER BY n
		ON CONFLICT (account_id, granularity, bucket_start, key_id, route, status_class, country, admission)
		DO UPDATE SET requests = usage_counts.requests + excluded.requests`,
		accounts, grans, starts, keyIDs, modes, routes, classes, countries, admissions, requests)
	if err != nil {
		return fmt.Errorf("postgres: add usage: %w", mapErr(err))
	}
	return nil
}

// Usage returns the rows q selects, summed over the dimensions it drops,
// ordered by Start, KeyID, Route, StatusClass and Country (within a mode,
// which is always kept).
func (db *DB) Usage(ctx context.Context, q amp.UsageQuery) ([]amp.UsageRow, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	query, args, err := usageQuery(q)
	if err != nil {
		return nil, fmt.Errorf("postgres: usage: %w", err)
	}
	rows, _ := db.pool.Query(ctx, query, args...)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (amp.UsageRow, error) {
		r := amp.UsageRow{Granularity: q.Granularity, AccountID: q.AccountID}
		var (
			start           *time.Time
			mode, admission string
			class           int32
		)
		if err := row.Scan(&start, &mode, &r.KeyID, &r.Route, &class, &r.Country, &admission, &r.Requests); err != nil {
			return r, err
		}
		r.Mode, r.StatusClass, r.Admission = amp.Mode(mode), int(class), amp.Admission(admission)
		if start != nil {
			r.Start = start.UTC()
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: usage: %w", mapErr(err))
	}
	return out, nil
}

// usageQuery builds the SELECT of q. Dropped dimensions are selected as
// their zero values and left out of GROUP BY; only fixed column names are
// ever written into the SQL, every value is a parameter.
func usageQuery(q amp.UsageQuery) (string, []any, error) {
	if err := q.Validate(); err != nil {
		return "", nil, err
	}
	dims := q.Dims
	if dims == 0 {
		dims = amp.DimAll
	}
	// Text columns sort with COLLATE "C": byte order, the same whatever
	// the database's locale (and the same as SQLite's).
	cols := []struct {
		dim       amp.UsageDims
		col, zero string
		text      bool
	}{
		{amp.DimStart, "bucket_start", "NULL::timestamptz", false},
		{0, "mode", "", true},
		{amp.DimKey, "key_id", "''", true},
		{amp.DimRoute, "route", "''", true},
		{amp.DimStatus, "status_class", "0", false},
		{amp.DimCountry, "country", "''", true},
		{amp.DimAdmission, "admission", "''", true},
	}
	var sel, group, order []string
	for _, c := range cols {
		if c.dim != 0 && dims&c.dim == 0 {
			sel = append(sel, c.zero)
			continue
		}
		sel = append(sel, c.col)
		group = append(group, c.col)
		if c.text {
			order = append(order, c.col+` COLLATE "C"`)
		} else {
			order = append(order, c.col)
		}
	}
	var b strings.Builder
	args := []any{q.AccountID, string(q.Granularity)}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	b.WriteString("SELECT " + strings.Join(sel, ", ") + ", sum(requests)::bigint FROM usage_counts WHERE account_id = $1 AND granularity = $2")
	if q.KeyID != "" {
		b.WriteString(" AND key_id = " + param(q.KeyID))
	}
	if q.Mode != "" {
		b.WriteString(" AND mode = " + param(string(q.Mode)))
	}
	if !q.From.IsZero() {
		b.WriteString(" AND bucket_start >= " + param(q.From))
	}
	if !q.To.IsZero() {
		b.WriteString(" AND bucket_start < " + param(q.To))
	}
	b.WriteString(" GROUP BY " + strings.Join(group, ", ") + " ORDER BY " + strings.Join(order, ", "))
	return b.String(), args, nil
}

// PruneUsage deletes the rows of granularity g that start before before.
func (db *DB) PruneUsage(ctx context.Context, g amp.Granularity, before time.Time) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	if !g.Valid() {
		return 0, fmt.Errorf("postgres: prune usage: invalid granularity %q", g)
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM usage_counts WHERE granularity = $1 AND bucket_start < $2", string(g), before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune usage: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}

// quotaKey is the primary key of quota_usage.
type quotaKey struct {
	account string
	month   time.Time
}

// AddQuotaUsage adds the deltas to the monthly counts in one statement,
// merged and sorted like AddUsage's rows.
func (db *DB) AddQuotaUsage(ctx context.Context, deltas []amp.QuotaDelta) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if len(deltas) == 0 {
		return nil
	}
	sums := make(map[quotaKey]int64, len(deltas))
	for _, d := range deltas {
		sums[quotaKey{d.AccountID, amp.MonthStart(d.Month)}] += d.Delta
	}
	keys := make([]quotaKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b quotaKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), a.month.Compare(b.month))
	})
	accounts, months, counts := make([]string, len(keys)), make([]time.Time, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		accounts[i], months[i], counts[i] = k.account, k.month, sums[k]
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO quota_usage (account_id, month, requests)
		SELECT account_id, month, requests
		FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) WITH ORDINALITY AS d(account_id, month, requests, n)
		ORDER BY n
		ON CONFLICT (account_id, month) DO UPDATE SET requests = quota_usage.requests + excluded.requests`,
		accounts, months, counts)
	if err != nil {
		return fmt.Errorf("postgres: add quota usage: %w", mapErr(err))
	}
	return nil
}

// QuotaUsage returns the stored count of the account's live 2xx requests in
// the month holding month; 0 if none was stored.
func (db *DB) QuotaUsage(ctx context.Context, accountID string, month time.Time) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	var n int64
	err := db.pool.QueryRow(ctx, "SELECT requests FROM quota_usage WHERE account_id = $1 AND month = $2",
		accountID, amp.MonthStart(month)).Scan(&n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("postgres: quota usage: %w", mapErr(err))
	}
	return n, nil
}
