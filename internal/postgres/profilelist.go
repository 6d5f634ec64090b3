package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	amp "github.com/amp-protocol/amp"
)

var _ amp.ProfileLister = (*DB)(nil)

// ListProfiles returns a page of a tenant's profiles, most recently seen
// first. There is no index on the last-seen time, so that the hot path's
// profile writes pay for none: a page scans the tenant's rows (by primary
// key) and keeps the top ones.
func (db *DB) ListProfiles(ctx context.Context, t amp.Tenant, q amp.ProfileListQuery) ([]*amp.ProfileSummary, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("SELECT user_id, outcome_count, created_at, updated_at FROM profiles WHERE account_id = $1 AND mode = $2")
	args := []any{t.AccountID, string(t.Mode)}
	if q.Prefix != "" {
		args = append(args, utf8.RuneCountInString(q.Prefix), q.Prefix)
		b.WriteString(" AND left(user_id, $" + strconv.Itoa(len(args)-1) + ") = $" + strconv.Itoa(len(args)))
	}
	if !q.AfterUpdated.IsZero() {
		args = append(args, q.AfterUpdated, q.AfterUserID)
		b.WriteString(" AND (updated_at, user_id) < ($" + strconv.Itoa(len(args)-1) + ", $" + strconv.Itoa(len(args)) + ")")
	}
	args = append(args, min(q.Limit, amp.MaxProfilePage))
	b.WriteString(" ORDER BY updated_at DESC, user_id DESC LIMIT $" + strconv.Itoa(len(args)))
	rows, err := db.pool.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list profiles: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*amp.ProfileSummary
	for rows.Next() {
		var (
			p     amp.ProfileSummary
			count int32
		)
		if err := rows.Scan(&p.UserID, &count, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return nil, fmt.Errorf("postgres: list profiles: %w", mapErr(err))
		}
		p.OutcomeCount, p.CreatedAt, p.UpdatedAt = int(count), p.CreatedAt.UTC(), p.UpdatedAt.UTC()
		out = append(out, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list profiles: %w", mapErr(err))
	}
	return out, nil
}
