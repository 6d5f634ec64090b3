package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/amp-protocol/amp"
)

// Teams (amp.TeamStore): members, one-time links and the audit log; see
// 009_team.sql. Like the users and sessions they are written rarely and run
// unprepared on the writer's connection.

const (
	tokenCols   = "token_hash, purpose, account_id, role, email, user_id, created_at, expires_at, used_at"
	auditCols   = "id, account_id, at, actor_id, actor_email, action, target, detail"
	sqlInsToken = "INSERT INTO dashboard_tokens (" + tokenCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// DashboardUsers returns the members of an account, oldest first.
func (db *DB) DashboardUsers(ctx context.Context, accountID string) ([]*amp.DashboardUser, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.rdb.QueryContext(ctx, dashUserRead+"WHERE m.account_id = ? ORDER BY m.created_at, u.id", accountID)
	if err != nil {
		return nil, db.mapErr("dashboard users", err)
	}
	defer rows.Close()
	var out []*amp.DashboardUser
	for rows.Next() {
		u, err := scanDashUser(rows)
		if err != nil {
			return nil, db.mapErr("dashboard users", err)
		}
		out = append(out, u)
	}
	return out, db.mapErr("dashboard users", rows.Err())
}

// DashboardMemberships returns the accounts a user is a member of, first
// joined first.
func (db *DB) DashboardMemberships(ctx context.Context, userID string) ([]*amp.DashboardMembership, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.rdb.QueryContext(ctx, "SELECT account_id, user_id, role, created_at FROM dashboard_memberships WHERE user_id = ? ORDER BY created_at, account_id", userID)
	if err != nil {
		return nil, db.mapErr("dashboard memberships", err)
	}
	defer rows.Close()
	var out []*amp.DashboardMembership
	for rows.Next() {
		var (
			m       amp.DashboardMembership
			role    string
			created int64
		)
		if err := rows.Scan(&m.AccountID, &m.UserID, &role, &created); err != nil {
			return nil, db.mapErr("dashboard memberships", err)
		}
		m.Role, m.CreatedAt = amp.Role(role), decTime(created)
		out = append(out, &m)
	}
	return out, db.mapErr("dashboard memberships", rows.Err())
}

// SetDashboardRoles gives members new roles, demotions from owner first.
func (db *DB) SetDashboardRoles(ctx context.Context, accountID string, roles map[string]amp.Role) error {
	return db.write(ctx, func(w *writer) error {
		for pass := range 2 {
			for id, r := range roles {
				if (r == amp.RoleOwner) != (pass == 1) {
					continue
				}
				n, err := dashExec(w, "UPDATE dashboard_memberships SET role = ? WHERE user_id = ? AND account_id = ?", string(r), id, accountID)
				if err == nil && n == 0 {
					err = amp.ErrNotFound
				}
				if err != nil {
					return db.mapErr("set dashboard roles", err)
				}
			}
		}
		return nil
	})
}

// RemoveDashboardMember ends a membership and the sessions acting for it;
// a user left in no account is deleted, and the schema deletes the rest of
// their sessions and their recovery codes.
func (db *DB) RemoveDashboardMember(ctx context.Context, accountID, userID string) error {
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "DELETE FROM dashboard_memberships WHERE user_id = ? AND account_id = ?", userID, accountID)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		if err == nil {
			_, err = dashExec(w, "DELETE FROM dashboard_sessions WHERE user_id = ? AND account_id = ?", userID, accountID)
		}
		if err == nil {
			_, err = dashExec(w, "DELETE FROM dashboard_users WHERE id = ? AND NOT EXISTS (SELECT 1 FROM dashboard_memberships WHERE user_id = ?)", userID, userID)
		}
		if err == nil {
			_, err = dashExec(w, `UPDATE dashboard_users SET account_id = (SELECT account_id FROM dashboard_memberships
				WHERE user_id = ?1 ORDER BY created_at, account_id LIMIT 1) WHERE id = ?1 AND account_id = ?2`, userID, accountID)
		}
		return db.mapErr("remove dashboard member", err)
	})
}

// CreateDashboardToken stores a one-time link.
func (db *DB) CreateDashboardToken(ctx context.Context, t *amp.DashboardToken) error {
	args := []any{t.Hash, string(t.Purpose), t.AccountID, string(t.Role), t.Email, t.UserID,
		encTime(t.CreatedAt), encTime(t.ExpiresAt), encTimePtr(t.UsedAt)}
	return db.write(ctx, func(w *writer) error {
		_, err := dashExec(w, sqlInsToken, args...)
		return db.mapErr("create dashboard token", err)
	})
}

func scanToken(row interface{ Scan(...any) error }) (*amp.DashboardToken, error) {
	var (
		t                amp.DashboardToken
		purpose, role    string
		created, expires int64
		used             sql.NullInt64
	)
	if err := row.Scan(&t.Hash, &purpose, &t.AccountID, &role, &t.Email, &t.UserID, &created, &expires, &used); err != nil {
		return nil, err
	}
	t.Purpose, t.Role = amp.TokenPurpose(purpose), amp.Role(role)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = decTime(created), decTime(expires), decTimePtr(used)
	return &t, nil
}

// DashboardToken returns the link with the hash, or amp.ErrNotFound.
func (db *DB) DashboardToken(ctx context.Context, hash string) (*amp.DashboardToken, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	t, err := scanToken(db.rdb.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM dashboard_tokens WHERE token_hash = ?", hash))
	if err != nil {
		return nil, db.mapErr("dashboard token", err)
	}
	return t, nil
}

// DashboardTokens returns an account's unused links with the purpose.
func (db *DB) DashboardTokens(ctx context.Context, accountID string, purpose amp.TokenPurpose) ([]*amp.DashboardToken, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.rdb.QueryContext(ctx, "SELECT "+tokenCols+" FROM dashboard_tokens WHERE account_id = ? AND purpose = ? AND used_at IS NULL ORDER BY created_at, token_hash",
		accountID, string(purpose))
	if err != nil {
		return nil, db.mapErr("dashboard tokens", err)
	}
	defer rows.Close()
	var out []*amp.DashboardToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, db.mapErr("dashboard tokens", err)
		}
		out = append(out, t)
	}
	return out, db.mapErr("dashboard tokens", rows.Err())
}

// DeleteDashboardTokens deletes unused links of an account.
func (db *DB) DeleteDashboardTokens(ctx context.Context, accountID string, purpose amp.TokenPurpose, hash string) (int64, error) {
	var n int64
	err := db.write(ctx, func(w *writer) error {
		var err error
		n, err = dashExec(w, "DELETE FROM dashboard_tokens WHERE account_id = ? AND purpose = ? AND used_at IS NULL AND (? = '' OR token_hash = ?)",
			accountID, string(purpose), hash, hash)
		return db.mapErr("delete dashboard tokens", err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// UseDashboardToken marks a live link used and applies use with it.
func (db *DB) UseDashboardToken(ctx context.Context, hash string, now time.Time, use amp.TokenUse) error {
	at := encTime(now)
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "UPDATE dashboard_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1", at, hash)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		if err != nil {
			return db.mapErr("use dashboard token", err)
		}
		if u := use.NewUser; u != nil {
			if err := insertDashUser(w, u); err != nil {
				return db.mapErr("use dashboard token: user", err)
			}
		}
		if m := use.NewMember; m != nil {
			if _, err := dashExec(w, sqlInsMember, m.AccountID, m.UserID, string(m.Role), encTime(m.CreatedAt)); err != nil {
				return db.mapErr("use dashboard token: member", err)
			}
			if _, err := dashExec(w, "UPDATE dashboard_users SET account_id = ? WHERE id = ?", m.AccountID, m.UserID); err != nil {
				return db.mapErr("use dashboard token: member", err)
			}
		}
		if p := use.Password; p != nil {
			n, err := dashExec(w, "UPDATE dashboard_users SET password_hash = ?, password_changed_at = ? WHERE id = ?", p.Hash, encTime(p.At), p.UserID)
			if err == nil && n == 0 {
				err = amp.ErrNotFound
			}
			if err == nil {
				_, err = dashExec(w, "DELETE FROM dashboard_sessions WHERE user_id = ?", p.UserID)
			}
			if err != nil {
				return db.mapErr("use dashboard token: password", err)
			}
		}
		return nil
	})
}

// AppendAudit stores an audit event and sets its id.
func (db *DB) AppendAudit(ctx context.Context, e *amp.AuditEvent) error {
	args := []any{e.AccountID, encTime(e.At), e.ActorID, e.ActorEmail, string(e.Action), e.Target, e.Detail}
	var id int64
	err := db.write(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(bg, "INSERT INTO audit_events (account_id, at, actor_id, actor_email, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", args...)
		if err == nil {
			id, err = res.LastInsertId()
		}
		return db.mapErr("append audit event", err)
	})
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

// AuditEvents returns an account's events below before, newest first.
func (db *DB) AuditEvents(ctx context.Context, accountID string, before int64, limit int) ([]*amp.AuditEvent, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.rdb.QueryContext(ctx, "SELECT "+auditCols+" FROM audit_events WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
		accountID, before, min(limit, amp.MaxAuditPage))
	if err != nil {
		return nil, db.mapErr("audit events", err)
	}
	defer rows.Close()
	var out []*amp.AuditEvent
	for rows.Next() {
		var (
			e      amp.AuditEvent
			at     int64
			action string
		)
		if err := rows.Scan(&e.ID, &e.AccountID, &at, &e.ActorID, &e.ActorEmail, &action, &e.Target, &e.Detail); err != nil {
			return nil, db.mapErr("audit events", err)
		}
		e.At, e.Action = decTime(at), amp.AuditAction(action)
		out = append(out, &e)
	}
	return out, db.mapErr("audit events", rows.Err())
}

// PruneAudit deletes the audit events of every account older than before.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(bg, "DELETE FROM audit_events WHERE at < ?", encTime(before))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return db.mapErr("prune audit events", err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SetDashboardTOTP sets a user's TOTP secret and recovery codes.
func (db *DB) SetDashboardTOTP(ctx context.Context, userID, secret string, recoveryHashes []string) error {
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "UPDATE dashboard_users SET totp_secret = ?, totp_step = 0 WHERE id = ?", secret, userID)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		if err == nil {
			_, err = dashExec(w, "DELETE FROM dashboard_recovery_codes WHERE user_id = ?", userID)
		}
		for _, h := range recoveryHashes {
			if err != nil {
				break
			}
			_, err = dashExec(w, "INSERT INTO dashboard_recovery_codes (user_id, code_hash) VALUES (?, ?)", userID, h)
		}
		return db.mapErr("set dashboard totp", err)
	})
}

// UseTOTPStep moves a user's last accepted TOTP step forward.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "UPDATE dashboard_users SET totp_step = ? WHERE id = ? AND totp_step < ?", step, userID, step)
		if err == nil && n == 0 {
			var one int
			if qerr := w.conn.QueryRowContext(bg, "SELECT 1 FROM dashboard_users WHERE id = ?", userID).Scan(&one); qerr != nil {
				err = qerr
			} else {
				err = amp.ErrConflict
			}
		}
		return db.mapErr("use totp step", err)
	})
}

// UseRecoveryCode marks an unused recovery code used.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	at := encTime(now)
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "UPDATE dashboard_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL", at, userID, hash)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		return db.mapErr("use recovery code", err)
	})
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if db.closed.Load() {
		return 0, errClosed
	}
	var n int
	err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM dashboard_recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&n)
	return n, db.mapErr("recovery codes left", err)
}

// SetTwoFactorRequired sets an account's two-factor requirement.
func (db *DB) SetTwoFactorRequired(ctx context.Context, accountID string, required bool) error {
	return db.write(ctx, func(w *writer) error {
		_, err := dashExec(w, "INSERT INTO account_security (account_id, require_two_factor) VALUES (?1, ?2) ON CONFLICT (account_id) DO UPDATE SET require_two_factor = ?2",
			accountID, required)
		return db.mapErr("set two-factor requirement", err)
	})
}

// TwoFactorRequired reports an account's two-factor requirement.
func (db *DB) TwoFactorRequired(ctx context.Context, accountID string) (bool, error) {
	if db.closed.Load() {
		return false, errClosed
	}
	var req bool
	err := db.rdb.QueryRowContext(ctx, "SELECT require_two_factor FROM account_security WHERE account_id = ?", accountID).Scan(&req)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return req, db.mapErr("two-factor requirement", err)
}
