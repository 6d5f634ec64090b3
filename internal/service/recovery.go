package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Account recovery and the first run. A password reset is a one-time link
// (amp.TokenReset): the operator prints one with `amp users reset-password`,
// or, when the server can send email, a user asks for one on the sign-in
// page. Using it sets the new password and ends every session of the user
// in one transaction. The first-run setup link invites whoever opens it to
// own the "default" account, the one whose key `amp serve` prints.

// Mailer sends one plain-text email. The dashboard's self-service password
// reset needs one; without it the page tells users to ask the operator.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// MsgResetRequested answers every reset request, whether the email has a
// login or not.
const MsgResetRequested = "If this email has a dashboard login, a link to choose a new password is on its way. It works once, within an hour."

// PasswordResetByEmail reports whether users can ask for a reset link by
// email.
func (s *Service) PasswordResetByEmail() bool { return s.mailer != nil && s.users != nil }

// IssueResetLink returns the secret of a reset link for the user with the
// email, valid for OperatorResetTTL, for the operator to pass on. NOT_FOUND
// if no user has the email.
func (s *Service) IssueResetLink(ctx context.Context, email string) (string, error) {
	if s.users == nil {
		return "", errors.New("service: this store keeps no dashboard users")
	}
	u, err := s.users.DashboardUserByEmail(ctx, amp.NormalizeEmail(email))
	if err != nil {
		return "", storeError(err, amp.CodeNotFound, "No dashboard user has this email.")
	}
	secret, err := s.createReset(ctx, u, OperatorResetTTL)
	if err != nil {
		return "", err
	}
	s.audit(ctx, u.AccountID, amp.AuditResetLinkIssued, u.Email, "by the operator")
	s.log.Info("dashboard password reset link issued", "user_id", u.ID)
	return secret, nil
}

func (s *Service) createReset(ctx context.Context, u *amp.DashboardUser, ttl time.Duration) (string, error) {
	secret, hash, err := s.newLink()
	if err != nil {
		return "", err
	}
	now := s.Now()
	t := &amp.DashboardToken{Hash: hash, Purpose: amp.TokenReset, AccountID: u.AccountID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.users.CreateDashboardToken(ctx, t); err != nil {
		return "", storeError(err, "", "")
	}
	return secret, nil
}

// RequestPasswordReset emails a reset link, valid for ResetTTL, to the
// user with the email, if there is one; link turns the secret into the
// URL the email shows. It answers the same for a known and an unknown
// email; requests spend from the sign-in budgets of the email and the
// client IP. NOT_FOUND when no mailer is configured.
func (s *Service) RequestPasswordReset(ctx context.Context, email, clientIP string, link func(secret string) string) error {
	if !s.PasswordResetByEmail() {
		return amp.Errorf(amp.CodeNotFound, "This server cannot send email. Ask its operator for a password reset link.")
	}
	email = amp.NormalizeEmail(email)
	if err := amp.ValidateEmail(email); err != nil {
		return err
	}
	now := s.Now()
	if err := s.login.check(ratelimit.LoginAttempt{Email: email, IP: clientIP}, now); err != nil {
		return err
	}
	s.login.fail(ratelimit.LoginAttempt{Email: email, IP: clientIP}, now)
	u, err := s.users.DashboardUserByEmail(ctx, email)
	if errors.Is(err, amp.ErrNotFound) {
		s.log.Info("dashboard password reset asked for an unknown email", "client_ip", clientIP)
		return nil
	}
	if err != nil {
		return storeError(err, "", "")
	}
	secret, err := s.createReset(ctx, u, ResetTTL)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Someone asked to reset the password of your AMP dashboard login %s.\n\n"+
		"To choose a new password, open this link within an hour. It works once:\n\n%s\n\n"+
		"If it was not you, ignore this email: your password stays as it is.\n", u.Email, link(secret))
	if err := s.mailer.Send(ctx, u.Email, "Reset your AMP dashboard password", body); err != nil {
		// The user learns nothing either way; the operator's log says why.
		s.log.Error("sending a password reset email failed", "user_id", u.ID, "err", err)
		return nil
	}
	s.audit(WithActor(ctx, Actor{UserID: u.ID, Email: u.Email}), u.AccountID, amp.AuditResetLinkIssued, u.Email, "by email")
	return nil
}

// ResetPassword sets a new password through a reset link and ends every
// session of the user. The link works once; an unknown, used or expired
// one answers NOT_FOUND with MsgBadLink.
func (s *Service) ResetPassword(ctx context.Context, secret, password, clientIP string) error {
	now := s.Now()
	if err := s.login.check(ratelimit.LoginAttempt{IP: clientIP}, now); err != nil {
		return err
	}
	t, err := s.liveLink(ctx, secret)
	if err == nil && t.Purpose != amp.TokenReset {
		err = amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	}
	if err != nil {
		s.login.fail(ratelimit.LoginAttempt{IP: clientIP}, now)
		return err
	}
	if err := amp.ValidatePassword(password); err != nil {
		return err
	}
	enc, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.users.UseDashboardToken(ctx, t.Hash, now, amp.TokenUse{Password: &amp.PasswordChange{UserID: t.UserID, Hash: enc, At: now}})
	if errors.Is(err, amp.ErrNotFound) {
		return amp.Errorf(amp.CodeNotFound, "%s", MsgBadLink)
	}
	if err != nil {
		return storeError(err, "", "")
	}
	u, err := s.users.DashboardUser(ctx, t.UserID)
	if err == nil {
		s.audit(WithActor(ctx, Actor{UserID: u.ID, Email: u.Email}), u.AccountID, amp.AuditPasswordReset, u.Email, "every session ended")
	}
	s.log.Info("dashboard password reset", "user_id", t.UserID)
	return nil
}

// SetupLink returns the secret of a new first-run link that makes whoever
// opens it the owner of the default account, replacing earlier ones, when
// that account has no dashboard user yet; "" otherwise.
func (s *Service) SetupLink(ctx context.Context) (string, error) {
	if s.users == nil {
		return "", nil
	}
	accts, err := s.store.Accounts(ctx)
	if err != nil {
		return "", storeError(err, "", "")
	}
	var def *amp.Account
	for _, a := range accts {
		if a.Name == amp.DefaultAccountName {
			def = a
			break
		}
	}
	if def == nil {
		return "", nil
	}
	us, err := s.users.DashboardUsers(ctx, def.ID)
	if err != nil || len(us) > 0 {
		return "", storeError(err, "", "")
	}
	if _, err := s.users.DeleteDashboardTokens(ctx, def.ID, amp.TokenSetup, ""); err != nil {
		return "", storeError(err, "", "")
	}
	secret, hash, err := s.newLink()
	if err != nil {
		return "", err
	}
	now := s.Now()
	t := &amp.DashboardToken{Hash: hash, Purpose: amp.TokenSetup, AccountID: def.ID, Role: amp.RoleOwner, CreatedAt: now, ExpiresAt: now.Add(SetupTTL)}
	if err := s.users.CreateDashboardToken(ctx, t); err != nil {
		return "", storeError(err, "", "")
	}
	return secret, nil
}

// EmailInvitation sends a new invitation's link to the address it names,
// when the server can send email; it reports whether it sent one. The
// inviter sees the link anyway, so a failure to send is logged and
// reported as false, not as an error.
func (s *Service) EmailInvitation(ctx context.Context, sess *Session, inv *Invitation, link string) bool {
	if s.mailer == nil || inv.Token.Email == "" {
		return false
	}
	body := fmt.Sprintf("%s invites you to the %q account of the AMP dashboard, as %s.\n\n"+
		"To join, open this link within 7 days. It works once:\n\n%s\n\n"+
		"If you do not expect this invitation, ignore this email.\n", sess.User.Email, sess.Account().Name, inv.Token.Role, link)
	if err := s.mailer.Send(ctx, inv.Token.Email, "You are invited to "+sess.Account().Name+" on AMP", body); err != nil {
		s.log.Error("sending an invitation email failed", "account_id", sess.Account().ID, "err", err)
		return false
	}
	return true
}
