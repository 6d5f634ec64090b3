package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

// The dashboard's users and sessions (amp.DashboardStore; see
// 003_dashboard.sql and 010_memberships.sql). Uniqueness (email, user id,
// one membership per user and account) and the existence of the account
// and user are the schema's constraints, which mapErr turns into
// ErrConflict and ErrNotFound.

var _ amp.DashboardStore = (*DB)(nil)

const (
	dashUserColumns    = "id, email, password_hash, account_id, created_at, password_changed_at, totp_secret, totp_step"
	dashSessionColumns = "token_hash, user_id, account_id, created_at, last_seen_at, expires_at"
	sqlInsMember       = "INSERT INTO dashboard_memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)"
	// dashUserRead reads users (u) with a membership (m), in
	// scanDashUser's order.
	dashUserRead = "SELECT u.id, u.email, u.password_hash, m.account_id, m.role, m.created_at, u.created_at, u.password_changed_at, u.totp_secret, u.totp_step " +
		"FROM dashboard_users u JOIN dashboard_memberships m ON m.user_id = u.id "
	// dashUserDefault reads a user with the membership their next session
	// starts in.
	dashUserDefault = dashUserRead + "AND m.account_id = u.account_id "
)

// CreateDashboardUser stores u, and a with it in one transaction when a is
// not nil, so that a refused sign-up leaves no account behind.
func (db *DB) CreateDashboardUser(ctx context.Context, u *amp.DashboardUser, a *amp.Account) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if a != nil {
			b.Queue("INSERT INTO accounts ("+accountColumns+") VALUES ($1, $2, $3, $4, $5, $6)",
				a.ID, a.Name, string(a.Plan), a.CustomRate, a.HoldoutPercent, a.CreatedAt)
		}
		b.Queue(sqlInsDashUser, dashUserArgs(u)...)
		b.Queue(sqlInsMember, u.AccountID, u.ID, string(u.Role), u.CreatedAt)
		return mapErr(tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return fmt.Errorf("postgres: create dashboard user %s: %w", u.ID, err)
	}
	return nil
}

// DashboardUser returns the user id, or ErrNotFound.
func (db *DB) DashboardUser(ctx context.Context, id string) (*amp.DashboardUser, error) {
	return db.dashUser(ctx, "dashboard user", "u.id", id)
}

// DashboardUserByEmail returns the user with the (normalised) email, or
// ErrNotFound.
func (db *DB) DashboardUserByEmail(ctx context.Context, email string) (*amp.DashboardUser, error) {
	return db.dashUser(ctx, "dashboard user by email", "u.email", email)
}

// dashUser looks a user up by column, one of the two fixed names above.
func (db *DB) dashUser(ctx context.Context, op, column, value string) (*amp.DashboardUser, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	u, err := scanDashUser(db.pool.QueryRow(ctx, dashUserDefault+"WHERE "+column+" = $1", value))
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, mapErr(err))
	}
	return u, nil
}

const sqlInsDashUser = "INSERT INTO dashboard_users (" + dashUserColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"

func dashUserArgs(u *amp.DashboardUser) []any {
	return []any{u.ID, u.Email, u.PasswordHash, u.AccountID, u.CreatedAt, u.PasswordChangedAt, u.TOTPSecret, u.TOTPStep}
}

func scanDashUser(row pgx.Row) (*amp.DashboardUser, error) {
	var (
		u    amp.DashboardUser
		role string
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AccountID, &role, &u.JoinedAt, &u.CreatedAt, &u.PasswordChangedAt, &u.TOTPSecret, &u.TOTPStep); err != nil {
		return nil, err
	}
	u.Role, u.JoinedAt, u.CreatedAt, u.PasswordChangedAt = amp.Role(role), u.JoinedAt.UTC(), u.CreatedAt.UTC(), u.PasswordChangedAt.UTC()
	return &u, nil
}

// SetDashboardPassword replaces a user's password hash and the time it
// changed; ErrNotFound if there is no such user.
func (db *DB) SetDashboardPassword(ctx context.Context, userID, hash string, changedAt time.Time) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, "UPDATE dashboard_users SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
		userID, hash, changedAt)
	if err != nil {
		return fmt.Errorf("postgres: set dashboard password: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: set dashboard password: %w", amp.ErrNotFound)
	}
	return nil
}

// CreateDashboardSession stores s; ErrConflict if its token hash exists,
// ErrNotFound if its user does not.
func (db *DB) CreateDashboardSession(ctx context.Context, s *amp.DashboardSession) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO dashboard_sessions ("+dashSessionColumns+") VALUES ($1, $2, $3, $4, $5, $6)",
		s.TokenHash, s.UserID, s.AccountID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	if err != nil {
		// The token hash stands for a secret: it stays out of the error.
		return fmt.Errorf("postgres: create dashboard session: %w", mapErr(err))
	}
	return nil
}

// DashboardSession returns the session with the token hash, expired or
// not, or ErrNotFound.
func (db *DB) DashboardSession(ctx context.Context, tokenHash string) (*amp.DashboardSession, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	var s amp.DashboardSession
	err := db.pool.QueryRow(ctx, "SELECT "+dashSessionColumns+" FROM dashboard_sessions WHERE token_hash = $1", tokenHash).
		Scan(&s.TokenHash, &s.UserID, &s.AccountID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("postgres: dashboard session: %w", mapErr(err))
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return &s, nil
}

// SetDashboardSessionAccount makes the session act for accountID, which
// its user's next sessions start in too, in one transaction; ErrNotFound
// unless the session's user is a member of accountID.
func (db *DB) SetDashboardSessionAccount(ctx context.Context, tokenHash, accountID string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var userID string
		err := tx.QueryRow(ctx, `UPDATE dashboard_sessions s SET account_id = $2 WHERE token_hash = $1
			AND EXISTS (SELECT 1 FROM dashboard_memberships m WHERE m.user_id = s.user_id AND m.account_id = $2) RETURNING user_id`,
			tokenHash, accountID).Scan(&userID)
		if err != nil {
			return mapErr(err)
		}
		_, err = tx.Exec(ctx, "UPDATE dashboard_users SET account_id = $2 WHERE id = $1", userID, accountID)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: set dashboard session account: %w", err)
	}
	return nil
}

// TouchDashboardSession moves a session's last-seen time forward to at; a
// missing session, or an earlier at, changes nothing.
func (db *DB) TouchDashboardSession(ctx context.Context, tokenHash string, at time.Time) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "UPDATE dashboard_sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2",
		tokenHash, at)
	if err != nil {
		return fmt.Errorf("postgres: touch dashboard session: %w", mapErr(err))
	}
	return nil
}

// DeleteDashboardSession ends one session; a missing one is no error.
func (db *DB) DeleteDashboardSession(ctx context.Context, tokenHash string) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, "DELETE FROM dashboard_sessions WHERE token_hash = $1", tokenHash); err != nil {
		return fmt.Errorf("postgres: delete dashboard session: %w", mapErr(err))
	}
	return nil
}

// DeleteDashboardSessions ends every session of the user except keep's
// (none when keep is "") and returns how many it ended.
func (db *DB) DeleteDashboardSessions(ctx context.Context, userID, keep string) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM dashboard_sessions WHERE user_id = $1 AND token_hash <> $2", userID, keep)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete dashboard sessions: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}

// DeleteExpiredDashboardSessions removes the sessions that expired at or
// before now or were last seen at or before idleBefore, and returns how
// many it removed.
func (db *DB) DeleteExpiredDashboardSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM dashboard_sessions WHERE expires_at <= $1 OR last_seen_at <= $2", now, idleBefore)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired dashboard sessions: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}
