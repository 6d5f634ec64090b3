package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

// Teams (amp.TeamStore): members, one-time links and the audit log; see
// 009_team.sql. One owner per account is the schema's partial unique
// index, which mapErr turns into ErrConflict.

const (
	tokenColumns = "token_hash, purpose, account_id, role, email, user_id, created_at, expires_at, used_at"
	auditColumns = "id, account_id, at, actor_id, actor_email, action, target, detail"
)

// DashboardUsers returns the members of an account, oldest first.
func (db *DB) DashboardUsers(ctx context.Context, accountID string) ([]*amp.DashboardUser, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, dashUserRead+"WHERE m.account_id = $1 ORDER BY m.created_at, u.id", accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: dashboard users: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*amp.DashboardUser
	for rows.Next() {
		u, err := scanDashUser(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: dashboard users: %w", mapErr(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: dashboard users: %w", mapErr(err))
	}
	return out, nil
}

// DashboardMemberships returns the accounts a user is a member of, first
// joined first.
func (db *DB) DashboardMemberships(ctx context.Context, userID string) ([]*amp.DashboardMembership, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT account_id, user_id, role, created_at FROM dashboard_memberships WHERE user_id = $1 ORDER BY created_at, account_id", userID)
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*amp.DashboardMembership, error) {
		var (
			m    amp.DashboardMembership
			role string
		)
		if err := row.Scan(&m.AccountID, &m.UserID, &role, &m.CreatedAt); err != nil {
			return nil, err
		}
		m.Role, m.CreatedAt = amp.Role(role), m.CreatedAt.UTC()
		return &m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: dashboard memberships: %w", mapErr(err))
	}
	return ms, nil
}

// SetDashboardRoles gives members new roles in one transaction, demotions
// from owner first so that the one-owner index holds after each statement.
func (db *DB) SetDashboardRoles(ctx context.Context, accountID string, roles map[string]amp.Role) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		for pass := range 2 {
			for id, r := range roles {
				if (r == amp.RoleOwner) != (pass == 1) {
					continue
				}
				tag, err := tx.Exec(ctx, "UPDATE dashboard_memberships SET role = $1 WHERE user_id = $2 AND account_id = $3", string(r), id, accountID)
				if err != nil {
					return mapErr(err)
				}
				if tag.RowsAffected() == 0 {
					return amp.ErrNotFound
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: set dashboard roles: %w", err)
	}
	return nil
}

// RemoveDashboardMember ends a membership and the sessions acting for it,
// in one transaction; a user left in no account is deleted, and the schema
// deletes the rest of their sessions and their recovery codes.
func (db *DB) RemoveDashboardMember(ctx context.Context, accountID, userID string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM dashboard_memberships WHERE user_id = $1 AND account_id = $2", userID, accountID)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return amp.ErrNotFound
		}
		b := &pgx.Batch{}
		b.Queue("DELETE FROM dashboard_sessions WHERE user_id = $1 AND account_id = $2", userID, accountID)
		b.Queue("DELETE FROM dashboard_users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM dashboard_memberships WHERE user_id = $1)", userID)
		b.Queue(`UPDATE dashboard_users SET account_id = (SELECT account_id FROM dashboard_memberships
			WHERE user_id = $1 ORDER BY created_at, account_id LIMIT 1) WHERE id = $1 AND account_id = $2`, userID, accountID)
		return mapErr(tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return fmt.Errorf("postgres: remove dashboard member: %w", err)
	}
	return nil
}

// CreateDashboardToken stores a one-time link.
func (db *DB) CreateDashboardToken(ctx context.Context, t *amp.DashboardToken) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO dashboard_tokens ("+tokenColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		t.Hash, string(t.Purpose), t.AccountID, string(t.Role), t.Email, t.UserID, t.CreatedAt, t.ExpiresAt, t.UsedAt)
	if err != nil {
		return fmt.Errorf("postgres: create dashboard token: %w", mapErr(err))
	}
	return nil
}

func scanToken(row pgx.Row) (*amp.DashboardToken, error) {
	var (
		t             amp.DashboardToken
		purpose, role string
	)
	if err := row.Scan(&t.Hash, &purpose, &t.AccountID, &role, &t.Email, &t.UserID, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt); err != nil {
		return nil, err
	}
	t.Purpose, t.Role = amp.TokenPurpose(purpose), amp.Role(role)
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	if t.UsedAt != nil {
		u := t.UsedAt.UTC()
		t.UsedAt = &u
	}
	return &t, nil
}

// DashboardToken returns the link with the hash, or ErrNotFound.
func (db *DB) DashboardToken(ctx context.Context, hash string) (*amp.DashboardToken, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	t, err := scanToken(db.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM dashboard_tokens WHERE token_hash = $1", hash))
	if err != nil {
		// The hash stands for a secret: it stays out of the error.
		return nil, fmt.Errorf("postgres: dashboard token: %w", mapErr(err))
	}
	return t, nil
}

// DashboardTokens returns an account's unused links with the purpose.
func (db *DB) DashboardTokens(ctx context.Context, accountID string, purpose amp.TokenPurpose) ([]*amp.DashboardToken, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, "SELECT "+tokenColumns+" FROM dashboard_tokens WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL ORDER BY created_at, token_hash",
		accountID, string(purpose))
	if err != nil {
		return nil, fmt.Errorf("postgres: dashboard tokens: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*amp.DashboardToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: dashboard tokens: %w", mapErr(err))
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: dashboard tokens: %w", mapErr(err))
	}
	return out, nil
}

// DeleteDashboardTokens deletes unused links of an account.
func (db *DB) DeleteDashboardTokens(ctx context.Context, accountID string, purpose amp.TokenPurpose, hash string) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM dashboard_tokens WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL AND ($3 = '' OR token_hash = $3)",
		accountID, string(purpose), hash)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete dashboard tokens: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}

// UseDashboardToken marks a live link used and applies use, in one
// transaction.
func (db *DB) UseDashboardToken(ctx context.Context, hash string, now time.Time, use amp.TokenUse) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE dashboard_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1", now, hash)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return amp.ErrNotFound
		}
		if u := use.NewUser; u != nil {
			if _, err := tx.Exec(ctx, sqlInsDashUser, dashUserArgs(u)...); err != nil {
				return mapErr(err)
			}
			if _, err := tx.Exec(ctx, sqlInsMember, u.AccountID, u.ID, string(u.Role), u.CreatedAt); err != nil {
				return mapErr(err)
			}
		}
		if m := use.NewMember; m != nil {
			if _, err := tx.Exec(ctx, sqlInsMember, m.AccountID, m.UserID, string(m.Role), m.CreatedAt); err != nil {
				return mapErr(err)
			}
			if _, err := tx.Exec(ctx, "UPDATE dashboard_users SET account_id = $1 WHERE id = $2", m.AccountID, m.UserID); err != nil {
				return mapErr(err)
			}
		}
		if p := use.Password; p != nil {
			tag, err := tx.Exec(ctx, "UPDATE dashboard_users SET password_hash = $1, password_changed_at = $2 WHERE id = $3", p.Hash, p.At, p.UserID)
			if err != nil {
				return mapErr(err)
			}
			if tag.RowsAffected() == 0 {
				return amp.ErrNotFound
			}
			if _, err := tx.Exec(ctx, "DELETE FROM dashboard_sessions WHERE user_id = $1", p.UserID); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: use dashboard token: %w", err)
	}
	return nil
}

// AppendAudit stores an audit event and sets its id.
func (db *DB) AppendAudit(ctx context.Context, e *amp.AuditEvent) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	err := db.pool.QueryRow(ctx, "INSERT INTO audit_events (account_id, at, actor_id, actor_email, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
		e.AccountID, e.At, e.ActorID, e.ActorEmail, string(e.Action), e.Target, e.Detail).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("postgres: append audit event: %w", mapErr(err))
	}
	return nil
}

// PruneAudit deletes the audit events of every account older than before.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM audit_events WHERE at < $1", before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit events: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}

// AuditEvents returns an account's events below before, newest first.
func (db *DB) AuditEvents(ctx context.Context, accountID string, before int64, limit int) ([]*amp.AuditEvent, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.pool.Query(ctx, "SELECT "+auditColumns+" FROM audit_events WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
		accountID, before, min(limit, amp.MaxAuditPage))
	if err != nil {
		return nil, fmt.Errorf("postgres: audit events: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*amp.AuditEvent
	for rows.Next() {
		var (
			e      amp.AuditEvent
			action string
		)
		if err := rows.Scan(&e.ID, &e.AccountID, &e.At, &e.ActorID, &e.ActorEmail, &action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: audit events: %w", mapErr(err))
		}
		e.At, e.Action = e.At.UTC(), amp.AuditAction(action)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audit events: %w", mapErr(err))
	}
	return out, nil
}

// SetDashboardTOTP sets a user's TOTP secret and recovery codes in one
// transaction.
func (db *DB) SetDashboardTOTP(ctx context.Context, userID, secret string, recoveryHashes []string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE dashboard_users SET totp_secret = $1, totp_step = 0 WHERE id = $2", secret, userID)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return amp.ErrNotFound
		}
		if _, err := tx.Exec(ctx, "DELETE FROM dashboard_recovery_codes WHERE user_id = $1", userID); err != nil {
			return mapErr(err)
		}
		for _, h := range recoveryHashes {
			if _, err := tx.Exec(ctx, "INSERT INTO dashboard_recovery_codes (user_id, code_hash) VALUES ($1, $2)", userID, h); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: set dashboard totp: %w", err)
	}
	return nil
}

// UseTOTPStep moves a user's last accepted TOTP step forward; the
// conditional update is what makes two concurrent uses of one code fail
// but once.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	var moved bool
	err := db.pool.QueryRow(ctx, `WITH u AS (UPDATE dashboard_users SET totp_step = $2 WHERE id = $1 AND totp_step < $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u) FROM dashboard_users WHERE id = $1`, userID, step).Scan(&moved)
	if err != nil {
		return fmt.Errorf("postgres: use totp step: %w", mapErr(err))
	}
	if !moved {
		return fmt.Errorf("postgres: use totp step: %w", amp.ErrConflict)
	}
	return nil
}

// UseRecoveryCode marks an unused recovery code used.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, "UPDATE dashboard_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL", now, userID, hash)
	if err != nil {
		return fmt.Errorf("postgres: use recovery code: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: use recovery code: %w", amp.ErrNotFound)
	}
	return nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM dashboard_recovery_codes WHERE user_id = $1 AND used_at IS NULL", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: recovery codes left: %w", mapErr(err))
	}
	return n, nil
}

// SetTwoFactorRequired sets an account's two-factor requirement.
func (db *DB) SetTwoFactorRequired(ctx context.Context, accountID string, required bool) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO account_security (account_id, require_two_factor) VALUES ($1, $2) ON CONFLICT (account_id) DO UPDATE SET require_two_factor = $2",
		accountID, required)
	if err != nil {
		return fmt.Errorf("postgres: set two-factor requirement: %w", mapErr(err))
	}
	return nil
}

// TwoFactorRequired reports an account's two-factor requirement.
func (db *DB) TwoFactorRequired(ctx context.Context, accountID string) (bool, error) {
	if err := db.checkOpen(); err != nil {
		return false, err
	}
	var req bool
	err := db.pool.QueryRow(ctx, "SELECT require_two_factor FROM account_security WHERE account_id = $1", accountID).Scan(&req)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: two-factor requirement: %w", mapErr(err))
	}
	return req, nil
}
