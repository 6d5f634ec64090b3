package amp

import (
	"context"
	"slices"
	"time"
)

// Teams: an account has members, each with one role. A dashboard user is a
// member of one or more accounts (DashboardMembership) and holds one role
// in each; an account has at most one owner.

// The roles, from most to least rights. RoleOwner is declared with
// DashboardUser.
const (
	// RoleAdmin may do everything the owner may but transfer the
	// account, enforce two-factor sign-in, and act on the owner or on
	// other admins.
	RoleAdmin Role = "admin"
	// RoleDeveloper manages API keys and reads usage, profiles and the
	// plan.
	RoleDeveloper Role = "developer"
	// RoleViewer reads usage, keys (masked), profiles and the plan, and
	// changes nothing.
	RoleViewer Role = "viewer"
)

// Roles lists the roles from most to least rights.
var Roles = []Role{RoleOwner, RoleAdmin, RoleDeveloper, RoleViewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Outranks reports whether r has more rights than o.
func (r Role) Outranks(o Role) bool {
	return slices.Index(Roles, r) < slices.Index(Roles, o) && r.Valid() && o.Valid()
}

// Permission is one kind of action in the dashboard.
type Permission string

// The permissions, and the least role that holds each (Role.Can).
const (
	PermRead       Permission = "read"        // keys (masked), usage, request log, profiles, plan, members: viewer
	PermKeys       Permission = "keys"        // create, roll, revoke keys: developer
	PermProfiles   Permission = "profiles"    // erase a profile: admin
	PermAccount    Permission = "account"     // account name, holdout, plan: admin
	PermMembers    Permission = "members"     // invite, remove, change roles: admin
	PermAudit      Permission = "audit"       // read the audit log: admin
	PermOwnership  Permission = "ownership"   // transfer the account: owner
	PermEnforce2FA Permission = "enforce_2fa" // require two-factor sign-in: owner
	PermWebhooks   Permission = "webhooks"    // add, change, remove webhook endpoints, roll their secrets, test, replay: developer
	PermQuarantine Permission = "quarantine"  // restore or roll a quarantined key: admin
)

var leastRole = map[Permission]Role{
	PermRead:       RoleViewer,
	PermKeys:       RoleDeveloper,
	PermProfiles:   RoleAdmin,
	PermAccount:    RoleAdmin,
	PermMembers:    RoleAdmin,
	PermAudit:      RoleAdmin,
	PermOwnership:  RoleOwner,
	PermEnforce2FA: RoleOwner,
	PermWebhooks:   RoleDeveloper,
	PermQuarantine: RoleAdmin,
}

// Can reports whether role r holds permission p. Unknown roles and
// permissions hold nothing.
func (r Role) Can(p Permission) bool {
	least, ok := leastRole[p]
	return ok && r.Valid() && (r == least || r.Outranks(least))
}

// TokenPurpose is what a one-time dashboard link is for.
type TokenPurpose string

// The purposes of one-time links.
const (
	// TokenInvite makes whoever opens it a new member of AccountID with
	// Role.
	TokenInvite TokenPurpose = "invite"
	// TokenSetup is the first-run link of `amp serve`: an invitation to
	// own the default account, replaced at every start until it is used.
	TokenSetup TokenPurpose = "setup"
	// TokenReset lets UserID choose a new password.
	TokenReset TokenPurpose = "reset"
	// TokenSignIn is a sign-in of UserID half done: the password was
	// right, and a second factor is awaited.
	TokenSignIn TokenPurpose = "signin"
)

// DashboardToken is a one-time link: an invitation, a first-run setup link
// or a password reset. The store keeps the SHA-256 of the link's secret,
// never the secret.
type DashboardToken struct {
	Hash      string // hex SHA-256 of the secret
	Purpose   TokenPurpose
	AccountID string
	Role      Role   // invite and setup: the role the new member gets
	Email     string // invite: the address it was meant for, if given
	// UserID is the user a reset is for, or the user who sent an
	// invitation ("" for the operator).
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// TokenUse is what using a one-time link does, in the same transaction as
// marking it used.
type TokenUse struct {
	// NewUser is created, a member of NewUser.AccountID (invite, setup).
	NewUser *DashboardUser
	// NewMember makes an existing user a member of an account (invite,
	// setup, accepted by a user who is signed in); the account becomes the
	// one the user's next sessions start in.
	NewMember *DashboardMembership
	// Password replaces UserID's password hash (reset); every session of
	// the user is deleted.
	Password *PasswordChange
}

// PasswordChange is a new password hash for a user.
type PasswordChange struct {
	UserID string
	Hash   string
	At     time.Time
}

// AuditAction names what an audit event records.
type AuditAction string

// The audited actions.
const (
	AuditKeyCreated       AuditAction = "key.created"
	AuditKeyRolled        AuditAction = "key.rolled"
	AuditKeyRevoked       AuditAction = "key.revoked"
	AuditAccountChanged   AuditAction = "account.changed" // name or holdout
	AuditPlanChanged      AuditAction = "plan.changed"
	AuditProfileErased    AuditAction = "profile.erased"
	AuditMemberInvited    AuditAction = "member.invited"
	AuditInviteRevoked    AuditAction = "member.invitation_revoked"
	AuditMemberJoined     AuditAction = "member.joined"
	AuditMemberRemoved    AuditAction = "member.removed"
	AuditRoleChanged      AuditAction = "member.role_changed"
	AuditOwnerTransferred AuditAction = "account.ownership_transferred"
	AuditPasswordReset    AuditAction = "user.password_reset"
	AuditResetLinkIssued  AuditAction = "user.password_reset_link"
	AuditTwoFactorChanged AuditAction = "user.two_factor"
	AuditSetupClaimed     AuditAction = "account.claimed"
)

// AuditEvent is one entry of an account's audit log. It names who did
// what to which object, never a secret: keys by id and mask, users by
// email.
type AuditEvent struct {
	ID         int64 // assigned by the store, increasing
	AccountID  string
	At         time.Time
	ActorID    string // the dashboard user; "" for the operator (the CLI)
	ActorEmail string
	Action     AuditAction
	Target     string // the key, user or profile acted on
	Detail     string // what changed, in words
}

// MaxAuditPage bounds one read of the audit log.
const MaxAuditPage = 200

// TeamStore persists an account's members, one-time links and audit log.
// Backends that implement it pass storetest.RunDashboard.
type TeamStore interface {
	// DashboardUsers returns the members of an account, first joined
	// first, each with AccountID, Role and JoinedAt of their membership of
	// it.
	DashboardUsers(ctx context.Context, accountID string) ([]*DashboardUser, error)
	// DashboardMemberships returns the memberships of a user, first joined
	// first; none for an unknown user.
	DashboardMemberships(ctx context.Context, userID string) ([]*DashboardMembership, error)
	// SetDashboardRoles gives users of accountID new roles, in one
	// transaction: demotions first, so that a transfer of ownership never
	// has two owners. ErrNotFound if a user is not a member of accountID;
	// ErrConflict if the account would have two owners.
	SetDashboardRoles(ctx context.Context, accountID string, roles map[string]Role) error
	// RemoveDashboardMember ends userID's membership of accountID and the
	// user's sessions acting for it, in one transaction. A user left in no
	// account is deleted with every session; one whose next sessions
	// started in accountID starts them in their oldest remaining account.
	// ErrNotFound if there is no such member.
	RemoveDashboardMember(ctx context.Context, accountID, userID string) error

	// CreateDashboardToken stores t. ErrConflict if the hash exists;
	// ErrNotFound if the account does not.
	CreateDashboardToken(ctx context.Context, t *DashboardToken) error
	// DashboardToken returns the link with the hash, used or not, or
	// ErrNotFound.
	DashboardToken(ctx context.Context, hash string) (*DashboardToken, error)
	// DashboardTokens returns the unused links of an account with the
	// purpose, expired or not, oldest first.
	DashboardTokens(ctx context.Context, accountID string, purpose TokenPurpose) ([]*DashboardToken, error)
	// DeleteDashboardTokens deletes the unused links of an account with
	// the purpose, only the one with the hash when hash is not "", and
	// returns how many it deleted.
	DeleteDashboardTokens(ctx context.Context, accountID string, purpose TokenPurpose, hash string) (int64, error)
	// UseDashboardToken marks the link used and applies use, in one
	// transaction. ErrNotFound if the link is used, expired at now or
	// missing, or the new member's user does not exist; ErrConflict if the
	// new user's email or id is taken, the new member is a member already,
	// or the account would get a second owner (the link stays unused).
	UseDashboardToken(ctx context.Context, hash string, now time.Time, use TokenUse) error

	// SetDashboardTOTP sets a user's TOTP secret ("" turns two-factor
	// sign-in off), resets TOTPStep to 0 and replaces their recovery codes
	// with the hashes. ErrNotFound if there is no such user.
	SetDashboardTOTP(ctx context.Context, userID, secret string, recoveryHashes []string) error
	// UseTOTPStep records that a code of step was accepted: ErrConflict
	// unless step is after the user's TOTPStep (a replay), ErrNotFound if
	// there is no such user.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// UseRecoveryCode marks an unused recovery code of the user used;
	// ErrNotFound if the user has no such unused code.
	UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	// SetTwoFactorRequired sets whether every member of the account must
	// sign in with a second factor. ErrNotFound if there is no account.
	SetTwoFactorRequired(ctx context.Context, accountID string, required bool) error
	// TwoFactorRequired reports it; false for an account never set.
	TwoFactorRequired(ctx context.Context, accountID string) (bool, error)

	// AppendAudit stores e and sets e.ID.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// AuditEvents returns up to limit events of an account with an ID
	// below before (all when before is 0), newest first.
	AuditEvents(ctx context.Context, accountID string, before int64, limit int) ([]*AuditEvent, error)
	// PruneAudit deletes the events of every account whose At is before
	// before, and returns how many it deleted.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}
