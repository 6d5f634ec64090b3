package amp

import (
	"context"
	"time"
)

// DashboardUser is a person who signs in to the web dashboard: one login
// (an email names one user) that is a member of one or more accounts
// (DashboardMembership), with a role in each: the owner of the account
// created at sign-up, or whatever role an invitation gave.
type DashboardUser struct {
	ID           string
	Email        string // normalised: trimmed and lower-cased
	PasswordHash string // a PHC string ("$argon2id$v=19$m=…,t=…,p=…$salt$hash"); never the password
	// AccountID is an account the user is a member of, Role their role in
	// it and JoinedAt when they joined it. Read by id or email, it is the
	// account a new session acts for: the last one the user joined or
	// switched to. Read as a member of an account (DashboardUsers), it is
	// that account.
	AccountID string
	Role      Role
	JoinedAt  time.Time
	CreatedAt time.Time
	// PasswordChangedAt is when the password was last set; sessions created
	// before it are no longer valid.
	PasswordChangedAt time.Time
	// TOTPSecret is the base32 secret of two-factor sign-in; "" when the
	// user has none. It is a secret: never logged or shown after setup.
	TOTPSecret string
	// TOTPStep is the last RFC 6238 time step a code was accepted for; a
	// code of that step or an earlier one is refused (no replay).
	TOTPStep int64
}

// DashboardMembership makes a user a member of an account, with a role.
// An account has at most one owner.
type DashboardMembership struct {
	AccountID string
	UserID    string
	Role      Role
	CreatedAt time.Time
}

// Role is what a dashboard user may do in an account they are a member
// of (see Roles and Role.Can).
type Role string

// RoleOwner may do everything in the account: keys, usage, profiles,
// plan and settings.
const RoleOwner Role = "owner"

// DashboardSession is a signed-in browser. The session token itself lives
// only in the browser's cookie; the store keeps its SHA-256, so that a copy
// of the database does not let anyone sign in.
type DashboardSession struct {
	TokenHash string // hex SHA-256 of the token
	UserID    string
	// AccountID is the account the session acts for, one the user is a
	// member of; the header's account switcher changes it.
	AccountID  string
	CreatedAt  time.Time
	LastSeenAt time.Time // for the idle timeout; refreshed at most once a minute
	ExpiresAt  time.Time // absolute end, whatever the activity
}

// DashboardStore persists the dashboard's users and sessions. Backends
// pass storetest.RunDashboard. Methods return ErrNotFound,
// ErrConflict or ErrUnavailable (wrapped) for those conditions.
type DashboardStore interface {
	TeamStore
	// CreateDashboardUser stores u and its membership of u.AccountID with
	// u.Role. When a is not nil, the account is created in the same
	// transaction, so that a failed sign-up leaves no account behind.
	// ErrConflict if the email, the user id or the account id is taken, or
	// if u is an owner and the account has one; ErrNotFound if a is nil
	// and u.AccountID does not exist.
	CreateDashboardUser(ctx context.Context, u *DashboardUser, a *Account) error
	// DashboardUser returns a user by id, or ErrNotFound.
	DashboardUser(ctx context.Context, id string) (*DashboardUser, error)
	// DashboardUserByEmail returns the user with the normalised email, or
	// ErrNotFound.
	DashboardUserByEmail(ctx context.Context, email string) (*DashboardUser, error)
	// SetDashboardPassword replaces a user's password hash and
	// PasswordChangedAt. ErrNotFound if there is no such user.
	SetDashboardPassword(ctx context.Context, userID, hash string, changedAt time.Time) error

	// CreateDashboardSession stores s. ErrConflict if the token hash exists;
	// ErrNotFound if the user does not.
	CreateDashboardSession(ctx context.Context, s *DashboardSession) error
	// SetDashboardSessionAccount makes the session act for accountID, and
	// makes accountID the account the user's next sessions start in, in
	// one transaction. ErrNotFound if there is no such session or its user
	// is not a member of accountID.
	SetDashboardSessionAccount(ctx context.Context, tokenHash, accountID string) error
	// DashboardSession returns the session with the token hash, expired or
	// not (the caller decides), or ErrNotFound.
	DashboardSession(ctx context.Context, tokenHash string) (*DashboardSession, error)
	// TouchDashboardSession sets a session's LastSeenAt if at is later than
	// the stored one. A missing session is not an error.
	TouchDashboardSession(ctx context.Context, tokenHash string, at time.Time) error
	// DeleteDashboardSession ends one session. A missing session is not an
	// error.
	DeleteDashboardSession(ctx context.Context, tokenHash string) error
	// DeleteDashboardSessions ends every session of the user except the one
	// with the token hash keep (none when keep is ""), and returns how many
	// it ended.
	DeleteDashboardSessions(ctx context.Context, userID, keep string) (int64, error)
	// DeleteExpiredDashboardSessions removes the sessions whose ExpiresAt is
	// at or before now, or that were last seen at or before idleBefore, and
	// returns how many it removed.
	DeleteExpiredDashboardSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
}
