package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Dashboard users: sign-up, sign-in, password changes and users added by
// the operator, with one set of rules for the dashboard and the CLI.
//
// A user acts for the account they are a member of through a Membership,
// which carries their role (team.go): the owner of the account created at
// sign-up, or the role of the invitation they accepted.
//
// No account enumeration: a sign-in with an unknown email and one with a
// wrong password get the same error and take the same time, because the
// unknown email's password is verified against a dummy argon2id hash with
// the current parameters. Throttled attempts get the same answer whether
// the email exists or not, since the per-email budgets are keyed by
// whatever was typed.
//
// Sign-up cannot hide everything without email: creating an account with
// a fresh address succeeds, and with a taken one it cannot. The answer for
// a taken address is the same generic failure as for any other refused
// sign-up (MsgSignupRefused), never says the address is taken, costs the
// same argon2id hash, and every sign-up attempt spends from the per-IP
// sign-in budget, so probing addresses through sign-up is exactly as slow
// as guessing passwords through sign-in. Private deployments close sign-up
// (Config.AllowSignup) and then nothing can be learnt from it.

// Messages of refused sign-ins and sign-ups, the same for every cause
// that must not be told apart.
const (
	MsgBadLogin      = "Incorrect email or password."
	MsgSignupRefused = "We could not create an account with these details. If you already have an account, sign in instead."
	MsgSignupClosed  = "Sign-up is closed on this server. Ask its operator for an account."
)

// SignupOpen reports whether anyone who can reach the server may sign up.
func (s *Service) SignupOpen() bool { return s.allowSignup && s.users != nil }

// SignUp describes a sign-up.
type SignUp struct {
	Email, Password string
	// AccountName names the new account; the email when empty.
	AccountName string
	// ClientIP is who asks, for the throttle.
	ClientIP string
	// Replaces is the session token the browser came with, if any; it ends.
	Replaces string
}

// SignUp creates a user with a new starter account and signs them in. It
// answers NOT_FOUND when sign-up is closed, RATE_LIMIT_EXCEEDED when the
// client IP has tried too often, INVALID_REQUEST with the rule's message
// for a malformed email, password or account name, and INVALID_REQUEST
// with MsgSignupRefused (wrapping amp.ErrConflict) for a taken email.
func (s *Service) SignUp(ctx context.Context, req SignUp) (*Session, error) {
	if !s.SignupOpen() {
		return nil, amp.Errorf(amp.CodeNotFound, "%s", MsgSignupClosed)
	}
	now := s.Now()
	attempt := ratelimit.LoginAttempt{IP: req.ClientIP}
	if err := s.login.check(attempt, now); err != nil {
		s.log.Warn("dashboard sign-up throttled", "client_ip", req.ClientIP)
		return nil, err
	}
	// Mistakes in the form say what is wrong: they depend only on what
	// was typed.
	email := amp.NormalizeEmail(req.Email)
	if err := amp.ValidateEmail(email); err != nil {
		return nil, err
	}
	if err := amp.ValidatePassword(req.Password); err != nil {
		return nil, err
	}
	name := amp.NormalizeName(req.AccountName)
	if name == "" {
		name = email
	}
	if err := amp.ValidateAccountName(name); err != nil {
		return nil, err
	}
	// Every sign-up attempt spends from the IP's budget: it bounds both
	// probing for taken addresses and mass account creation.
	s.login.fail(attempt, now)
	u, err := s.createUser(ctx, email, req.Password, name, "")
	if errors.Is(err, amp.ErrConflict) {
		s.log.Info("dashboard sign-up refused", "client_ip", req.ClientIP)
		return nil, &amp.Error{Code: amp.CodeInvalidRequest, Message: MsgSignupRefused, Err: err}
	}
	if err != nil {
		return nil, err
	}
	sess, err := s.startSession(ctx, u, req.Replaces)
	if err != nil {
		return nil, err
	}
	s.log.Info("dashboard user signed up", "user_id", u.ID, "account_id", u.AccountID, "client_ip", req.ClientIP)
	return sess, nil
}

// SignInAttempt describes a sign-in.
type SignInAttempt struct {
	Email, Password string
	// ClientIP is who asks, for the throttle.
	ClientIP string
	// Device is the device token the browser holds from an earlier
	// sign-in (Session.DeviceToken), "" if none: a browser that signed in
	// to the email before has a throttle budget of its own, which no
	// guesser elsewhere can drain.
	Device string
	// Replaces is the session token the browser came with, if any; it ends.
	Replaces string
}

// SignIn checks an email and password and starts a session, ending the
// one the attempt replaces; the session carries the device token to give
// the browser. A wrong password and an unknown email both answer
// UNAUTHORIZED with MsgBadLogin; too many failures (see throttle.go)
// answer RATE_LIMIT_EXCEEDED, before any password is checked.
func (s *Service) SignIn(ctx context.Context, in SignInAttempt) (*Session, error) {
	if s.users == nil {
		return nil, amp.Errorf(amp.CodeUnauthorized, "%s", MsgBadLogin)
	}
	email := amp.NormalizeEmail(in.Email)
	attempt := ratelimit.LoginAttempt{Email: email, IP: in.ClientIP, Device: in.Device}
	now := s.Now()
	if err := s.login.check(attempt, now); err != nil {
		s.log.Warn("dashboard sign-in throttled", "client_ip", in.ClientIP)
		return nil, err
	}
	u, ok, err := s.checkPassword(ctx, email, in.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.login.fail(attempt, now)
		s.log.Info("dashboard sign-in failed", "client_ip", in.ClientIP)
		return nil, amp.Errorf(amp.CodeUnauthorized, "%s", MsgBadLogin)
	}
	if u.TOTPSecret != "" {
		// The password was right; the budgets stay spent until the code
		// is too.
		return nil, s.startSecondFactor(ctx, u)
	}
	device := s.login.succeed(attempt, now)
	sess, err := s.startSession(ctx, u, in.Replaces)
	if err != nil {
		return nil, err
	}
	sess.DeviceToken = device
	s.log.Info("dashboard user signed in", "user_id", u.ID, "account_id", u.AccountID, "client_ip", in.ClientIP)
	return sess, nil
}

// checkPassword returns the user whose email and password these are. An
// unknown email costs one argon2id verification, as a known one does. A
// correct password stored with outdated parameters is rehashed.
func (s *Service) checkPassword(ctx context.Context, email, password string) (*amp.DashboardUser, bool, error) {
	if len(password) > amp.MaxPasswordBytes {
		// Refused without hashing, known email or not: the same for both.
		return nil, false, nil
	}
	u, err := s.users.DashboardUserByEmail(ctx, email)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, false, s.passwords.Burn(ctx, password)
	}
	if err != nil {
		return nil, false, storeError(err, "", "")
	}
	ok, rehash, err := s.passwords.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, false, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return nil, false, nil
	}
	if rehash {
		if enc, err := s.passwords.Hash(ctx, password); err == nil {
			// Not a password change: PasswordChangedAt stays, so that no
			// session ends.
			if err := s.users.SetDashboardPassword(ctx, u.ID, enc, u.PasswordChangedAt); err != nil {
				s.log.Warn("rehashing a dashboard password failed", "user_id", u.ID, "err", err)
			}
		}
	}
	return u, true, nil
}

// ChangePassword replaces the session user's password after checking the
// current one. It ends every session of the user, this one included, and
// returns a new session for the browser that changed it: whoever else knew
// the old password is out. The current-password check spends from the
// sign-in budgets, so that a stolen session is no way to guess the
// password.
func (s *Service) ChangePassword(ctx context.Context, sess *Session, current, next, clientIP string) (*Session, error) {
	u := sess.User
	now := s.Now()
	// No device token: a stolen session's browser is no owner's.
	attempt := ratelimit.LoginAttempt{Email: u.Email, IP: clientIP}
	if err := s.login.check(attempt, now); err != nil {
		return nil, err
	}
	ok, _, err := s.passwords.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.login.fail(attempt, now)
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The current password is incorrect.").WithDetails(map[string]any{"field": "current_password"})
	}
	if err := amp.ValidatePassword(next); err != nil {
		return nil, err
	}
	enc, err := s.passwords.Hash(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.users.SetDashboardPassword(ctx, u.ID, enc, now); err != nil {
		return nil, storeError(err, "", "")
	}
	if _, err := s.users.DeleteDashboardSessions(ctx, u.ID, ""); err != nil {
		return nil, storeError(err, "", "")
	}
	changed := *u
	changed.PasswordHash, changed.PasswordChangedAt = enc, now
	// The new session goes on acting for the account this one did.
	changed.AccountID = sess.Account().ID
	fresh, err := s.startSession(ctx, &changed, "")
	if err != nil {
		return nil, err
	}
	s.log.Info("dashboard password changed", "user_id", u.ID)
	return fresh, nil
}

// NewUser describes a dashboard user added by the operator.
type NewUser struct {
	Email    string
	Password string
	// AccountID makes the user the owner of an existing account (such as
	// the "default" account of a new server). When empty, a new starter
	// account named AccountName (the email when empty) is created.
	AccountID   string
	AccountName string
}

// AddUser adds a dashboard user from outside the web interface, for
// deployments whose sign-up is closed (`amp users add`), by the sign-up
// form's rules. It answers INVALID_REQUEST with the rule's message for bad
// input and when the email is taken or the account already has an owner
// (wrapping amp.ErrConflict), NOT_FOUND for an unknown account.
func (s *Service) AddUser(ctx context.Context, nu NewUser) (*amp.DashboardUser, error) {
	if s.users == nil {
		return nil, errors.New("service: this store keeps no dashboard users")
	}
	email := amp.NormalizeEmail(nu.Email)
	if err := amp.ValidateEmail(email); err != nil {
		return nil, err
	}
	if err := amp.ValidatePassword(nu.Password); err != nil {
		return nil, err
	}
	name := amp.NormalizeName(nu.AccountName)
	if nu.AccountID != "" {
		if _, err := s.Account(ctx, nu.AccountID); err != nil {
			return nil, err
		}
	} else {
		if name == "" {
			name = email
		}
		if err := amp.ValidateAccountName(name); err != nil {
			return nil, err
		}
	}
	u, err := s.createUser(ctx, email, nu.Password, name, nu.AccountID)
	if errors.Is(err, amp.ErrConflict) {
		return nil, &amp.Error{Code: amp.CodeInvalidRequest, Message: "The email is taken or the account already has an owner (invite other members from the dashboard's Members page).", Err: err}
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("dashboard user added", "user_id", u.ID, "account_id", u.AccountID)
	return u, nil
}

// createUser hashes the password and stores a user: with a new starter
// account named accountName, or owning the existing accountID. A taken
// email, or an existing account that has an owner, gives amp.ErrConflict,
// after the same hashing work as a free one.
func (s *Service) createUser(ctx context.Context, email, password, accountName, accountID string) (*amp.DashboardUser, error) {
	enc, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	id, err := amp.RandomID(s.random, "usr_", 16)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	u := &amp.DashboardUser{ID: id, Email: email, PasswordHash: enc, AccountID: accountID, Role: amp.RoleOwner, CreatedAt: now, PasswordChangedAt: now}
	var acct *amp.Account
	if accountID == "" {
		if acct, err = s.PrepareAccount(accountName, amp.PlanStarter); err != nil {
			return nil, err
		}
		u.AccountID = acct.ID
	}
	if err := s.users.CreateDashboardUser(ctx, u, acct); err != nil {
		return nil, err
	}
	return u, nil
}
