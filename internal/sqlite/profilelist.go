package sqlite

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
)

var _ amp.ProfileLister = (*DB)(nil)

// ListProfiles returns a page of a tenant's profiles, most recently seen
// first. It reads the file, which the learning cache never runs ahead of
// (rows change in memory only after they committed). There is no index on
// the last-seen time, so that the hot path's profile writes pay for none:
// a page scans the tenant's rows (by primary key) and keeps the top ones.
func (db *DB) ListProfiles(ctx context.Context, t amp.Tenant, q amp.ProfileListQuery) ([]*amp.ProfileSummary, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("SELECT user_id, outcome_count, created_at, updated_at FROM profiles WHERE account_id = ? AND mode = ?")
	args := []any{t.AccountID, string(t.Mode)}
	if q.Prefix != "" {
		b.WriteString(" AND substr(user_id, 1, ?) = ?")
		args = append(args, utf8.RuneCountInString(q.Prefix), q.Prefix)
	}
	if !q.AfterUpdated.IsZero() {
		b.WriteString(" AND (updated_at, user_id) < (?, ?)")
		args = append(args, encTime(q.AfterUpdated), q.AfterUserID)
	}
	b.WriteString(" ORDER BY updated_at DESC, user_id DESC LIMIT ?")
	args = append(args, min(q.Limit, amp.MaxProfilePage))
	rows, err := db.rdb.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, db.mapErr("list profiles", err)
	}
	defer rows.Close()
	var out []*amp.ProfileSummary
	for rows.Next() {
		var (
			p                amp.ProfileSummary
			created, updated int64
		)
		if err := rows.Scan(&p.UserID, &p.OutcomeCount, &created, &updated); err != nil {
			return nil, db.mapErr("list profiles", err)
		}
		p.CreatedAt, p.UpdatedAt = decTime(created), decTime(updated)
		out = append(out, &p)
	}
	return out, db.mapErr("list profiles", rows.Err())
}
