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
	dashUserCols  = "id, email, password_hash, account_id, role, created_at, password_changed_at, totp_secret, totp_step"
	dashSessCols  = "token_hash, user_id, created_at, last_seen_at, expires_at"
	sqlInsDashUsr = "INSERT INTO dashboard_users (" + dashUserCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
	sqlInsDashSes = "INSERT INTO dashboard_sessions (" + dashSessCols + ") VALUES (?, ?, ?, ?, ?)"
)

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
	uargs := dashUserArgs(u)
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
		_, err := dashExec(w, sqlInsDashUsr, uargs...)
		return db.mapErr("create dashboard user", err)
	})
}

// DashboardUser returns the user id, or amp.ErrNotFound.
func (db *DB) DashboardUser(ctx context.Context, id string) (*amp.DashboardUser, error) {
	return db.dashUser(ctx, "dashboard user", "SELECT "+dashUserCols+" FROM dashboard_users WHERE id = ?", id)
}

// DashboardUserByEmail returns the user with the email, or amp.ErrNotFound.
func (db *DB) DashboardUserByEmail(ctx context.Context, email string) (*amp.DashboardUser, error) {
	return db.dashUser(ctx, "dashboard user by email", "SELECT "+dashUserCols+" FROM dashboard_users WHERE email = ?", email)
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
	return []any{u.ID, u.Email, u.PasswordHash, u.AccountID, string(u.Role), encTime(u.CreatedAt), encTime(u.PasswordChangedAt), u.TOTPSecret, u.TOTPStep}
}

func scanDashUser(row interface{ Scan(...any) error }) (*amp.DashboardUser, error) {
	var (
		u                amp.DashboardUser
		role             string
		created, changed int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AccountID, &role, &created, &changed, &u.TOTPSecret, &u.TOTPStep); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt, u.PasswordChangedAt = amp.Role(role), decTime(created), decTime(changed)
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
	args := []any{s.TokenHash, s.UserID, encTime(s.CreatedAt), encTime(s.LastSeenAt), encTime(s.ExpiresAt)}
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
		Scan(&s.TokenHash, &s.UserID, &created, &seen, &expires)
	if err != nil {
		return nil, db.mapErr("dashboard session", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = decTime(created), decTime(seen), decTime(expires)
	return &s, nil
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
