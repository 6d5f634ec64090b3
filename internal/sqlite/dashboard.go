package sqlite

import (
	"context"
	"time"

	"github.com/amp-protocol/amp"
)

// The dashboard's users and sessions (amp.DashboardStore). They are written
// rarely (sign-up, login, a session touch at most once a minute), so their
// statements are not prepared up front: the writer runs them on its
// connection inside the batch's transaction like any other write.

var _ amp.DashboardStore = (*DB)(nil)

const (
	dashUserCols  = "id, email, password_hash, account_id, created_at, password_changed_at, totp_secret, totp_step"
	dashSessCols  = "token_hash, user_id, account_id, created_at, last_seen_at, expires_at"
	sqlInsDashUsr = "INSERT INTO dashboard_users (" + dashUserCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	sqlInsDashSes = "INSERT INTO dashboard_sessions (" + dashSessCols + ") VALUES (?, ?, ?, ?, ?, ?)"
	sqlInsMember  = "INSERT INTO dashboard_memberships (account_id, user_id, role, created_at) VALUES (?, ?, ?, ?)"
	// dashUserRead reads users (u) with a membership (m), in
	// scanDashUser's order.
	dashUserRead = "SELECT u.id, u.email, u.password_hash, m.account_id, m.role, m.created_at, u.created_at, u.password_changed_at, u.totp_secret, u.totp_step " +
		"FROM dashboard_users u JOIN dashboard_memberships m ON m.user_id = u.id "
	// dashUserDefault reads a user with the membership their next session
	// starts in.
	dashUserDefault = dashUserRead + "AND m.account_id = u.account_id "
)

// insertDashUser stores u and its membership of u.AccountID on w.
func insertDashUser(w *writer, u *amp.DashboardUser) error {
	if _, err := dashExec(w, sqlInsDashUsr, dashUserArgs(u)...); err != nil {
		return err
	}
	_, err := dashExec(w, sqlInsMember, u.AccountID, u.ID, string(u.Role), encTime(u.CreatedAt))
	return err
}

// dashExec runs an unprepared statement on the writer's connection, inside
// the current transaction, and returns the number of rows it changed.
func dashExec(w *writer, query string, args ...any) (int64, error) {
	if err := checkText(args); err != nil {
		return 0, err
	}
	res, err := w.conn.ExecContext(bg, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CreateDashboardUser stores u, and a with it in one transaction when a is
// not nil.
func (db *DB) CreateDashboardUser(ctx context.Context, u *amp.DashboardUser, a *amp.Account) error {
	if err := checkText(dashUserArgs(u)); err != nil {
		return db.mapErr("create dashboard user", err)
	}
	var aargs []any
	if a != nil {
		aargs = []any{a.ID, a.Name, string(a.Plan), a.CustomRate, a.HoldoutPercent, encTime(a.CreatedAt)}
	}
	return db.write(ctx, func(w *writer) error {
		if aargs != nil {
			if _, err := w.exec(w.insAccount, aargs...); err != nil {
				return db.mapErr("create dashboard user: account", err)
			}
		}
		return db.mapErr("create dashboard user", insertDashUser(w, u))
	})
}

// DashboardUser returns the user id, or amp.ErrNotFound.
func (db *DB) DashboardUser(ctx context.Context, id string) (*amp.DashboardUser, error) {
	return db.dashUser(ctx, "dashboard user", dashUserDefault+"WHERE u.id = ?", id)
}

// DashboardUserByEmail returns the user with the email, or amp.ErrNotFound.
func (db *DB) DashboardUserByEmail(ctx context.Context, email string) (*amp.DashboardUser, error) {
	return db.dashUser(ctx, "dashboard user by email", dashUserDefault+"WHERE u.email = ?", email)
}

func (db *DB) dashUser(ctx context.Context, op, query string, arg string) (*amp.DashboardUser, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	u, err := scanDashUser(db.rdb.QueryRowContext(ctx, query, arg))
	if err != nil {
		return nil, db.mapErr(op, err)
	}
	return u, nil
}

func dashUserArgs(u *amp.DashboardUser) []any {
	return []any{u.ID, u.Email, u.PasswordHash, u.AccountID, encTime(u.CreatedAt), encTime(u.PasswordChangedAt), u.TOTPSecret, u.TOTPStep}
}

func scanDashUser(row interface{ Scan(...any) error }) (*amp.DashboardUser, error) {
	var (
		u                        amp.DashboardUser
		role                     string
		joined, created, changed int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AccountID, &role, &joined, &created, &changed, &u.TOTPSecret, &u.TOTPStep); err != nil {
		return nil, err
	}
	u.Role, u.JoinedAt, u.CreatedAt, u.PasswordChangedAt = amp.Role(role), decTime(joined), decTime(created), decTime(changed)
	return &u, nil
}

// SetDashboardPassword replaces a user's password hash.
func (db *DB) SetDashboardPassword(ctx context.Context, userID, hash string, changedAt time.Time) error {
	changed := encTime(changedAt)
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "UPDATE dashboard_users SET password_hash = ?, password_changed_at = ? WHERE id = ?", hash, changed, userID)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		return db.mapErr("set dashboard password", err)
	})
}

// CreateDashboardSession stores s.
func (db *DB) CreateDashboardSession(ctx context.Context, s *amp.DashboardSession) error {
	args := []any{s.TokenHash, s.UserID, s.AccountID, encTime(s.CreatedAt), encTime(s.LastSeenAt), encTime(s.ExpiresAt)}
	return db.write(ctx, func(w *writer) error {
		_, err := dashExec(w, sqlInsDashSes, args...)
		return db.mapErr("create dashboard session", err)
	})
}

// DashboardSession returns the session with the token hash, or
// amp.ErrNotFound.
func (db *DB) DashboardSession(ctx context.Context, tokenHash string) (*amp.DashboardSession, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	var (
		s                      amp.DashboardSession
		created, seen, expires int64
	)
	err := db.rdb.QueryRowContext(ctx, "SELECT "+dashSessCols+" FROM dashboard_sessions WHERE token_hash = ?", tokenHash).
		Scan(&s.TokenHash, &s.UserID, &s.AccountID, &created, &seen, &expires)
	if err != nil {
		return nil, db.mapErr("dashboard session", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = decTime(created), decTime(seen), decTime(expires)
	return &s, nil
}

// SetDashboardSessionAccount makes the session act for accountID, which
// its user's next sessions start in too.
func (db *DB) SetDashboardSessionAccount(ctx context.Context, tokenHash, accountID string) error {
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, `UPDATE dashboard_sessions SET account_id = ?2 WHERE token_hash = ?1
			AND EXISTS (SELECT 1 FROM dashboard_memberships m WHERE m.user_id = dashboard_sessions.user_id AND m.account_id = ?2)`, tokenHash, accountID)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		if err == nil {
			_, err = dashExec(w, "UPDATE dashboard_users SET account_id = ?2 WHERE id = (SELECT user_id FROM dashboard_sessions WHERE token_hash = ?1)", tokenHash, accountID)
		}
		return db.mapErr("set dashboard session account", err)
	})
}

// TouchDashboardSession moves a session's last-seen time forward.
func (db *DB) TouchDashboardSession(ctx context.Context, tokenHash string, at time.Time) error {
	seen := encTime(at)
	return db.write(ctx, func(w *writer) error {
		_, err := dashExec(w, "UPDATE dashboard_sessions SET last_seen_at = ?2 WHERE token_hash = ?1 AND last_seen_at < ?2", tokenHash, seen)
		return db.mapErr("touch dashboard session", err)
	})
}

// DeleteDashboardSession ends one session.
func (db *DB) DeleteDashboardSession(ctx context.Context, tokenHash string) error {
	return db.write(ctx, func(w *writer) error {
		_, err := dashExec(w, "DELETE FROM dashboard_sessions WHERE token_hash = ?", tokenHash)
		return db.mapErr("delete dashboard session", err)
	})
}

// DeleteDashboardSessions ends every session of the user but keep.
func (db *DB) DeleteDashboardSessions(ctx context.Context, userID, keep string) (int64, error) {
	var n int64
	err := db.write(ctx, func(w *writer) error {
		var err error
		n, err = dashExec(w, "DELETE FROM dashboard_sessions WHERE user_id = ? AND token_hash <> ?", userID, keep)
		return db.mapErr("delete dashboard sessions", err)
	})
	if err != nil {
		// n may still be written by a write whose caller gave up.
		return 0, err
	}
	return n, nil
}

// DeleteExpiredDashboardSessions removes expired and idle sessions.
func (db *DB) DeleteExpiredDashboardSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	end, idle := encTime(now), encTime(idleBefore)
	var n int64
	err := db.write(ctx, func(w *writer) error {
		var err error
		n, err = dashExec(w, "DELETE FROM dashboard_sessions WHERE expires_at <= ? OR last_seen_at <= ?", end, idle)
		return db.mapErr("delete expired dashboard sessions", err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
