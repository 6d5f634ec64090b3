package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Teams: members of an account, their roles, invitations and the audit
// log. Every operation a dashboard user asks for takes their Session and
// checks their role here (amp.Role.Can), whatever the front end shows.
//
// Who may act on whom: a member acts only on members they outrank, and
// grants only roles below their own; the owner may also grant admin. The
// owner role moves only by TransferOwnership. Nobody changes or removes
// themselves, so an account always keeps its owner.

// How long one-time links stay usable.
const (
	InvitationTTL = 7 * 24 * time.Hour
	// ResetTTL bounds a password reset link sent by email; an operator's
	// link lasts OperatorResetTTL, since it is passed on by hand.
	ResetTTL         = time.Hour
	OperatorResetTTL = 24 * time.Hour
	SetupTTL         = 7 * 24 * time.Hour
)

// MsgBadLink is the answer for a one-time link that is unknown, used or
// expired: the three are not told apart.
const MsgBadLink = "This link is invalid, expired or already used. Ask for a new one."

// Actor is who an audited action is done by: a dashboard user, or the
// operator (the zero Actor) when nothing else is said.
type Actor struct {
	UserID, Email string
	// KeyID is set for an action through the API with that key.
	KeyID string
}

type actorKey struct{}

// WithActor returns ctx carrying the actor of the service calls made with
// it, for their audit entries. Calls without one are the operator's.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorOf(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

func (s *Session) actor(ctx context.Context) context.Context {
	return WithActor(ctx, Actor{UserID: s.User.ID, Email: s.User.Email})
}

// audit appends an entry to the account's log. It runs after the action
// succeeded; a failure to record it is logged, not returned, since the
// action cannot be undone.
func (s *Service) audit(ctx context.Context, accountID string, action amp.AuditAction, target, detail string) {
	if s.users == nil {
		return
	}
	a := actorOf(ctx)
	e := &amp.AuditEvent{AccountID: accountID, At: s.Now(), ActorID: a.UserID, ActorEmail: a.Email,
		Action: action, Target: target, Detail: detail}
	if a.UserID == "" && a.KeyID != "" {
		e.ActorID, e.ActorEmail = a.KeyID, "API key"
	}
	if err := s.users.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("recording an audit event failed", "account_id", accountID, "action", action, "err", err)
	}
}

// Allow answers FORBIDDEN unless the session's role holds p.
func (s *Service) Allow(sess *Session, p amp.Permission) error {
	if sess.NeedsTwoFactorSetup {
		return amp.Errorf(amp.CodeForbidden, "The account's owner requires two-factor sign-in: set it up under Settings first.")
	}
	if sess.Membership.Role.Can(p) {
		return nil
	}
	return amp.Errorf(amp.CodeForbidden, "Your role (%s) does not allow this. Ask an owner or admin of the account.", sess.Membership.Role).
		WithDetails(map[string]any{"role": string(sess.Membership.Role), "permission": string(p)})
}

// Can reports whether the session's role holds p, for front ends that
// hide what the service would refuse.
func (s *Service) Can(sess *Session, p amp.Permission) bool { return sess.Membership.Role.Can(p) }

// Members are an account's users and its pending invitations.
type Members struct {
	Users []*amp.DashboardUser
	// Invitations are the unused ones, expired included (marked by
	// ExpiresAt); nil for a session that may not manage members.
	Invitations []*amp.DashboardToken
}

// Members lists the session's account's members.
func (s *Service) Members(ctx context.Context, sess *Session) (*Members, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	us, err := s.users.DashboardUsers(ctx, sess.Account().ID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	m := &Members{Users: us}
	if sess.Membership.Role.Can(amp.PermMembers) {
		if m.Invitations, err = s.users.DashboardTokens(ctx, sess.Account().ID, amp.TokenInvite); err != nil {
			return nil, storeError(err, "", "")
		}
	}
	return m, nil
}

// Invitation is a new invitation: the link's secret, shown once to the
// inviter, and its stored form.
type Invitation struct {
	Secret string
	Token  *amp.DashboardToken
}

// canGrant reports whether a member with role r may give role g.
func canGrant(r, g amp.Role) bool {
	return g != amp.RoleOwner && g.Valid() && (r.Outranks(g) || r == amp.RoleOwner)
}

// Invite creates a one-time link that makes whoever opens it a member with
// role. email, when given, is the only address that may accept it.
func (s *Service) Invite(ctx context.Context, sess *Session, email string, role amp.Role) (*Invitation, error) {
	if err := s.Allow(sess, amp.PermMembers); err != nil {
		return nil, err
	}
	if !role.Valid() || role == amp.RoleOwner {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "role must be admin, developer or viewer.").WithDetails(map[string]any{"field": "role"})
	}
	if !canGrant(sess.Membership.Role, role) {
		return nil, amp.Errorf(amp.CodeForbidden, "Your role (%s) cannot invite a %s.", sess.Membership.Role, role).WithDetails(map[string]any{"field": "role"})
	}
	if email != "" {
		email = amp.NormalizeEmail(email)
		if err := amp.ValidateEmail(email); err != nil {
			return nil, err
		}
	}
	secret, hash, err := s.newLink()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	t := &amp.DashboardToken{Hash: hash, Purpose: amp.TokenInvite, AccountID: sess.Account().ID, Role: role, Email: email,
		UserID: sess.User.ID, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	if err := s.users.CreateDashboardToken(ctx, t); err != nil {
		return nil, storeError(err, "", "")
	}
	detail := "as " + string(role)
	if email != "" {
		detail += " for " + email
	}
	s.audit(sess.actor(ctx), t.AccountID, amp.AuditMemberInvited, "invitation "+hash[:8], detail)
	return &Invitation{Secret: secret, Token: t}, nil
}

// RevokeInvitation deletes an unused invitation of the session's account,
// named by its stored hash. NOT_FOUND if there is none.
func (s *Service) RevokeInvitation(ctx context.Context, sess *Session, hash string) error {
	if err := s.Allow(sess, amp.PermMembers); err != nil {
		return err
	}
	if hash == "" {
		return amp.Errorf(amp.CodeNotFound, "No such invitation.")
	}
	n, err := s.users.DeleteDashboardTokens(ctx, sess.Account().ID, amp.TokenInvite, hash)
	if err != nil {
		return storeError(err, "", "")
	}
	if n == 0 {
		return amp.Errorf(amp.CodeNotFound, "No such invitation.")
	}
	s.audit(sess.actor(ctx), sess.Account().ID, amp.AuditInviteRevoked, "invitation "+hash[:min(8, len(hash))], "")
	return nil
}

// member returns the member userID of the session's account, refusing the
// session's own user and members it does not outrank.
func (s *Service) member(ctx context.Context, sess *Session, userID string) (*amp.DashboardUser, error) {
	us, err := s.users.DashboardUsers(ctx, sess.Account().ID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	i := slices.IndexFunc(us, func(u *amp.DashboardUser) bool { return u.ID == userID })
	if i < 0 {
		return nil, amp.Errorf(amp.CodeNotFound, "No such member.")
	}
	u := us[i] // as a member of the session's account, with its role there
	if u.ID == sess.User.ID {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "You cannot change your own membership.")
	}
	if !sess.Membership.Role.Outranks(u.Role) {
		return nil, amp.Errorf(amp.CodeForbidden, "Your role (%s) cannot change a member who is %s.", sess.Membership.Role, u.Role)
	}
	return u, nil
}

// ChangeRole gives a member another role.
func (s *Service) ChangeRole(ctx context.Context, sess *Session, userID string, role amp.Role) error {
	if err := s.Allow(sess, amp.PermMembers); err != nil {
		return err
	}
	if !role.Valid() || role == amp.RoleOwner {
		return amp.Errorf(amp.CodeInvalidRequest, "role must be admin, developer or viewer; ownership moves by transfer.").WithDetails(map[string]any{"field": "role"})
	}
	u, err := s.member(ctx, sess, userID)
	if err != nil {
		return err
	}
	if !canGrant(sess.Membership.Role, role) {
		return amp.Errorf(amp.CodeForbidden, "Your role (%s) cannot make a member %s.", sess.Membership.Role, role)
	}
	if u.Role == role {
		return nil
	}
	if err := s.users.SetDashboardRoles(ctx, u.AccountID, map[string]amp.Role{u.ID: role}); err != nil {
		return storeError(err, amp.CodeNotFound, "No such member.")
	}
	s.audit(sess.actor(ctx), u.AccountID, amp.AuditRoleChanged, u.Email, fmt.Sprintf("%s → %s", u.Role, role))
	return nil
}

// RemoveMember takes a member out of the account; their sessions acting
// for it end. Their membership of other accounts stays; a member of no
// other account loses their login.
func (s *Service) RemoveMember(ctx context.Context, sess *Session, userID string) error {
	if err := s.Allow(sess, amp.PermMembers); err != nil {
		return err
	}
	u, err := s.member(ctx, sess, userID)
	if err != nil {
		return err
	}
	if err := s.users.RemoveDashboardMember(ctx, u.AccountID, u.ID); err != nil {
		return storeError(err, amp.CodeNotFound, "No such member.")
	}
	s.audit(sess.actor(ctx), u.AccountID, amp.AuditMemberRemoved, u.Email, "was "+string(u.Role))
	s.log.Info("dashboard member removed", "user_id", u.ID, "account_id", u.AccountID, "by", sess.User.ID)
	return nil
}

// TransferOwnership makes another member the owner; the owner becomes an
// admin.
func (s *Service) TransferOwnership(ctx context.Context, sess *Session, userID string) error {
	if err := s.Allow(sess, amp.PermOwnership); err != nil {
		return err
	}
	u, err := s.member(ctx, sess, userID)
	if err != nil {
		return err
	}
	err = s.users.SetDashboardRoles(ctx, u.AccountID, map[string]amp.Role{sess.User.ID: amp.RoleAdmin, u.ID: amp.RoleOwner})
	if err != nil {
		return storeError(err, amp.CodeNotFound, "No such member.")
	}
	sess.Membership.Role = amp.RoleAdmin
	s.audit(sess.actor(ctx), u.AccountID, amp.AuditOwnerTransferred, u.Email, "from "+sess.User.Email)
	return nil
}

// AuditLog returns up to limit (at most amp.MaxAuditPage) of the account's
// audit events older than before (0: the newest), newest first.
func (s *Service) AuditLog(ctx context.Context, sess *Session, before int64, limit int) ([]*amp.AuditEvent, error) {
	if err := s.Allow(sess, amp.PermAudit); err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), amp.MaxAuditPage)
	es, err := s.users.AuditEvents(ctx, sess.Account().ID, before, limit)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	return es, nil
}

// LinkHash is the stored form of a one-time link's secret
// (amp.DashboardToken.Hash), for a front end that must tell which link a
// secret it holds is.
func LinkHash(secret string) string { return hashToken(secret) }

// DefaultAuditRetention is how long audit events are kept when
// Config.AuditRetention is zero: 400 days. An audit log answers "who did
// this, and when" long after the fact, in yearly access reviews and
// security audits that look back twelve months; 400 days covers a year
// with a month to spare. The request log, a debugging aid, keeps days.
const DefaultAuditRetention = 400 * 24 * time.Hour

// auditPruneEvery is how often runJobs prunes the audit log.
const auditPruneEvery = time.Hour

// AuditRetention is how long audit events are kept; 0 when kept for ever.
func (s *Service) AuditRetention() time.Duration { return max(s.auditRetention, 0) }

// PruneAuditLog deletes the audit events older than the retention, of
// every account, and returns how many; runJobs calls it every hour.
func (s *Service) PruneAuditLog(ctx context.Context) (int64, error) {
	if s.users == nil || s.auditRetention <= 0 {
		return 0, nil
	}
	n, err := s.users.PruneAudit(ctx, s.Now().Add(-s.auditRetention))
	if err != nil {
		return 0, storeError(fmt.Errorf("prune audit log: %w", err), "", "")
	}
	if n > 0 {
		s.log.Info("pruned the audit log", "events", n, "retention", s.auditRetention.String())
	}
	return n, nil
}

// newLink returns a fresh one-time link secret and the hash it is stored
// by.
func (s *Service) newLink() (secret, hash string, err error) {
	secret, err = s.NewToken()
	if err != nil {
		return "", "", err
	}
	return secret, hashToken(secret), nil
}

// LinkInfo is what a one-time link's page shows before it is used.
type LinkInfo struct {
	Purpose     amp.TokenPurpose
	AccountName string
	Role        amp.Role
	Email       string // the invited address, or the user a reset is for
	ExpiresAt   time.Time
}

// liveLink returns the unused, unexpired link with the secret, or
// NOT_FOUND with MsgBadLink.
func (s *Service) liveLink(ctx context.Context, secret string) (*amp.DashboardToken, error) {
	bad := amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	if s.users == nil || !ValidToken(secret) {
		return nil, bad
	}
	t, err := s.users.DashboardToken(ctx, hashToken(secret))
	if errors.Is(err, amp.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, storeError(err, "", "")
	}
	if t.UsedAt != nil || !s.Now().Before(t.ExpiresAt) {
		return nil, bad
	}
	return t, nil
}

// Link describes a live one-time link, for the page that uses it.
func (s *Service) Link(ctx context.Context, secret string) (*LinkInfo, error) {
	t, err := s.liveLink(ctx, secret)
	if err != nil {
		return nil, err
	}
	a, err := s.Account(ctx, t.AccountID)
	if err != nil {
		return nil, err
	}
	info := &LinkInfo{Purpose: t.Purpose, AccountName: a.Name, Role: t.Role, Email: t.Email, ExpiresAt: t.ExpiresAt}
	if t.Purpose == amp.TokenReset {
		u, err := s.users.DashboardUser(ctx, t.UserID)
		if err != nil {
			return nil, storeError(err, amp.CodeNotFound, MsgBadLink)
		}
		info.Email = u.Email
	}
	return info, nil
}

// Join is the use of an invitation or setup link by a new member.
type Join struct {
	Secret          string
	Email, Password string
	ClientIP        string
	Replaces        string // the session the browser came with, which ends
}

// AcceptInvitation creates the member an invitation or first-run setup
// link is for and signs them in. The link works once: a second use, an
// expired or unknown link answer NOT_FOUND with MsgBadLink. An invitation
// with an email accepts that address only. A taken email answers
// INVALID_REQUEST and leaves the link usable.
func (s *Service) AcceptInvitation(ctx context.Context, j Join) (*Session, error) {
	now := s.Now()
	if err := s.login.check(ratelimit.LoginAttempt{IP: j.ClientIP}, now); err != nil {
		return nil, err
	}
	t, err := s.liveLink(ctx, j.Secret)
	if err == nil && t.Purpose != amp.TokenInvite && t.Purpose != amp.TokenSetup {
		err = amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	}
	if err != nil {
		s.login.fail(ratelimit.LoginAttempt{IP: j.ClientIP}, now)
		return nil, err
	}
	email := amp.NormalizeEmail(j.Email)
	if err := amp.ValidateEmail(email); err != nil {
		return nil, err
	}
	if t.Email != "" && email != t.Email {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "This invitation is for another email address.").WithDetails(map[string]any{"field": "email"})
	}
	if err := amp.ValidatePassword(j.Password); err != nil {
		return nil, err
	}
	s.login.fail(ratelimit.LoginAttempt{IP: j.ClientIP}, now) // as a sign-up: bounds mass joining and probing emails
	enc, err := s.passwords.Hash(ctx, j.Password)
	if err != nil {
		return nil, err
	}
	id, err := amp.RandomID(s.random, "usr_", 16)
	if err != nil {
		return nil, err
	}
	u := &amp.DashboardUser{ID: id, Email: email, PasswordHash: enc, AccountID: t.AccountID, Role: t.Role, CreatedAt: now, PasswordChangedAt: now}
	err = s.users.UseDashboardToken(ctx, t.Hash, now, amp.TokenUse{NewUser: u})
	switch {
	case errors.Is(err, amp.ErrConflict):
		return nil, &amp.Error{Code: amp.CodeInvalidRequest, Message: MsgLoginExists,
			Details: map[string]any{"field": "email", "login_exists": true}, Err: err}
	case errors.Is(err, amp.ErrNotFound):
		return nil, amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	case err != nil:
		return nil, storeError(err, "", "")
	}
	action, detail := amp.AuditMemberJoined, "as "+string(u.Role)
	if t.Purpose == amp.TokenSetup {
		action, detail = amp.AuditSetupClaimed, "first-run setup link"
	}
	s.audit(WithActor(ctx, Actor{UserID: u.ID, Email: u.Email}), u.AccountID, action, u.Email, detail)
	s.log.Info("dashboard member joined", "user_id", u.ID, "account_id", u.AccountID, "role", u.Role)
	return s.startSession(ctx, u, j.Replaces)
}

// MsgLoginExists answers a new login for an email that has one: the
// invitation joins that login to the account once its user signs in.
const MsgLoginExists = "This email already has an AMP login: sign in with it, then open this link again to add the account to it."

// JoinAs uses an invitation or first-run setup link for the signed-in user
// of sess: they become a member of its account with its role, in one
// transaction with the link's use, and the session returned acts for that
// account. The link works once, as for AcceptInvitation; an invitation for
// another email is refused, and so is one to an account the user is
// already a member of (the link stays usable).
func (s *Service) JoinAs(ctx context.Context, sess *Session, secret string) (*Session, error) {
	t, err := s.liveLink(ctx, secret)
	if err == nil && t.Purpose != amp.TokenInvite && t.Purpose != amp.TokenSetup {
		err = amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	}
	if err != nil {
		return nil, err
	}
	if t.Email != "" && t.Email != sess.User.Email {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "This invitation is for another email address: sign out, then open the link again.")
	}
	now := s.Now()
	m := &amp.DashboardMembership{AccountID: t.AccountID, UserID: sess.User.ID, Role: t.Role, CreatedAt: now}
	err = s.users.UseDashboardToken(ctx, t.Hash, now, amp.TokenUse{NewMember: m})
	switch {
	case errors.Is(err, amp.ErrConflict):
		if slices.ContainsFunc(sess.Accounts, func(m Membership) bool { return m.Account.ID == t.AccountID }) {
			return nil, amp.Errorf(amp.CodeInvalidRequest, "You are already a member of this account.")
		}
		// The account got an owner since the setup link was printed.
		return nil, amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	case errors.Is(err, amp.ErrNotFound):
		return nil, amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	case err != nil:
		return nil, storeError(err, "", "")
	}
	action, detail := amp.AuditMemberJoined, "as "+string(t.Role)+", with an existing login"
	if t.Purpose == amp.TokenSetup {
		action, detail = amp.AuditSetupClaimed, "first-run setup link, with an existing login"
	}
	s.audit(WithActor(ctx, Actor{UserID: sess.User.ID, Email: sess.User.Email}), t.AccountID, action, sess.User.Email, detail)
	s.log.Info("dashboard member joined", "user_id", sess.User.ID, "account_id", t.AccountID, "role", t.Role)
	return s.SwitchAccount(ctx, sess, t.AccountID)
}

// GrantableRoles are the roles the session may invite members with or give
// them: what the members page offers.
func (s *Service) GrantableRoles(sess *Session) []amp.Role {
	if !sess.Membership.Role.Can(amp.PermMembers) {
		return nil
	}
	var out []amp.Role
	for _, r := range amp.Roles {
		if canGrant(sess.Membership.Role, r) {
			out = append(out, r)
		}
	}
	return out
}

// CanActOn reports whether the session may change or remove member u.
func (s *Service) CanActOn(sess *Session, u *amp.DashboardUser) bool {
	return sess.Membership.Role.Can(amp.PermMembers) && u.ID != sess.User.ID &&
		u.AccountID == sess.Account().ID && sess.Membership.Role.Outranks(u.Role)
}
