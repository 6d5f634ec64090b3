package service

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/totp"
)

// Two-factor sign-in. A user who turned it on signs in in two steps: the
// password, which when right gives a one-time sign-in challenge
// (amp.TokenSignIn, valid ChallengeTTL, stored by hash), then a code from
// their authenticator app (RFC 6238) or one of their recovery codes. A
// code is accepted once: the store keeps the last time step used and
// refuses that step and earlier ones, so a code seen over someone's
// shoulder is worthless once used. Recovery codes are stored by SHA-256
// and work once each. Wrong codes spend from the sign-in budgets, as wrong
// passwords do.
//
// An account's owner may require two-factor sign-in of every member: a
// member without it may then do nothing but set it up (Allow refuses the
// rest, and Session.NeedsTwoFactorSetup tells the front end).

// ChallengeTTL bounds the time between the password and the code.
const ChallengeTTL = 5 * time.Minute

// RecoveryCodeCount is how many recovery codes a setup gives.
const RecoveryCodeCount = 10

// totpIssuer names the server in authenticator apps.
const totpIssuer = "AMP"

// SecondFactorNeeded is SignIn's answer when the password was right and
// the user has two-factor sign-in: Challenge goes with the code to
// SignInSecondFactor.
type SecondFactorNeeded struct {
	Challenge string
}

func (e *SecondFactorNeeded) Error() string { return "service: a second factor is needed to sign in" }

// MsgBadCode answers a wrong or reused code.
const MsgBadCode = "Incorrect or already used code. Enter the current code from your authenticator app, or a recovery code."

// startSecondFactor issues a sign-in challenge for u.
func (s *Service) startSecondFactor(ctx context.Context, u *amp.DashboardUser) error {
	secret, hash, err := s.newLink()
	if err != nil {
		return err
	}
	now := s.Now()
	t := &amp.DashboardToken{Hash: hash, Purpose: amp.TokenSignIn, AccountID: u.AccountID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
	if err := s.users.CreateDashboardToken(ctx, t); err != nil {
		return storeError(err, "", "")
	}
	return &SecondFactorNeeded{Challenge: secret}
}

// SignInSecondFactor finishes a sign-in with a code from the user's
// authenticator app or a recovery code, and starts the session. A wrong,
// reused or late code answers UNAUTHORIZED with MsgBadCode; an unknown,
// used or expired challenge NOT_FOUND (sign in again).
func (s *Service) SignInSecondFactor(ctx context.Context, challenge, code, clientIP, replaces string) (*Session, error) {
	now := s.Now()
	if err := s.login.check(ratelimit.LoginAttempt{IP: clientIP}, now); err != nil {
		return nil, err
	}
	t, err := s.liveLink(ctx, challenge)
	if err == nil && t.Purpose != amp.TokenSignIn {
		err = amp.ErrNotFound
	}
	if err != nil {
		s.login.fail(ratelimit.LoginAttempt{IP: clientIP}, now)
		return nil, amp.Errorf(amp.CodeNotFound, "This sign-in has expired. Sign in again.")
	}
	u, err := s.users.DashboardUser(ctx, t.UserID)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "This sign-in has expired. Sign in again.")
	}
	if err := s.login.check(ratelimit.LoginAttempt{Email: u.Email, IP: clientIP}, now); err != nil {
		return nil, err
	}
	ok, err := s.checkSecondFactor(ctx, u, code, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.login.fail(ratelimit.LoginAttempt{Email: u.Email, IP: clientIP}, now)
		s.log.Info("dashboard second factor refused", "user_id", u.ID, "client_ip", clientIP)
		return nil, amp.Errorf(amp.CodeUnauthorized, "%s", MsgBadCode).WithDetails(map[string]any{"field": "code"})
	}
	if err := s.users.UseDashboardToken(ctx, t.Hash, now, amp.TokenUse{}); err != nil {
		return nil, storeError(err, amp.CodeNotFound, "This sign-in has expired. Sign in again.")
	}
	// A browser that signed in with both factors keeps a device token too,
	// so that a guesser elsewhere cannot throttle it (see SignIn).
	device := s.login.succeed(ratelimit.LoginAttempt{Email: u.Email, IP: clientIP}, now)
	sess, err := s.startSession(ctx, u, replaces)
	if err != nil {
		return nil, err
	}
	sess.DeviceToken = device
	s.log.Info("dashboard user signed in with a second factor", "user_id", u.ID, "client_ip", clientIP)
	return sess, nil
}

// checkSecondFactor spends a TOTP code's step or a recovery code of u.
func (s *Service) checkSecondFactor(ctx context.Context, u *amp.DashboardUser, code string, now time.Time) (bool, error) {
	if u.TOTPSecret == "" {
		return false, nil
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(code))
	if len(code) > 64 {
		return false, nil
	}
	if len(code) == 6 {
		step, err := totp.Verify(u.TOTPSecret, code, now)
		if errors.Is(err, totp.ErrBadCode) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("verify totp of user %s: %w", u.ID, err)
		}
		err = s.users.UseTOTPStep(ctx, u.ID, step)
		if errors.Is(err, amp.ErrConflict) {
			return false, nil // replayed
		}
		return err == nil, storeError(err, "", "")
	}
	err := s.users.UseRecoveryCode(ctx, u.ID, hashRecoveryCode(code), now)
	if errors.Is(err, amp.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, storeError(err, "", "")
	}
	s.audit(WithActor(ctx, Actor{UserID: u.ID, Email: u.Email}), u.AccountID, amp.AuditTwoFactorChanged, u.Email, "signed in with a recovery code")
	return true, nil
}

func hashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(code)))
	return hex.EncodeToString(sum[:])
}

// TwoFactorSetup is a new TOTP secret for the session's user, not yet on:
// EnableTwoFactor turns it on once the user typed a code of it.
type TwoFactorSetup struct {
	Secret string
	URL    string // otpauth://, for authenticator apps
	QR     []byte // the URL as a PNG QR code
}

// BeginTwoFactor draws a new TOTP secret for the session's user.
func (s *Service) BeginTwoFactor(ctx context.Context, sess *Session) (*TwoFactorSetup, error) {
	k, err := totp.Generate(s.random, totpIssuer, sess.User.Email)
	if err != nil {
		return nil, fmt.Errorf("totp secret: %w", err)
	}
	return &TwoFactorSetup{Secret: k.Secret, URL: k.URL, QR: k.QR}, nil
}

// EnableTwoFactor turns on two-factor sign-in with secret (from
// BeginTwoFactor), after checking that code is a current code of it, and
// returns the recovery codes, shown once. It replaces an earlier secret
// and its recovery codes.
func (s *Service) EnableTwoFactor(ctx context.Context, sess *Session, secret, code string) ([]string, error) {
	if b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil || len(b) < 16 || len(secret) > 64 {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The setup has expired. Start again.")
	}
	now := s.Now()
	step, err := totp.Verify(secret, strings.TrimSpace(code), now)
	if err != nil {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "That code does not match. Enter the 6-digit code your authenticator app shows now.").
			WithDetails(map[string]any{"field": "code"})
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		if codes[i], err = newRecoveryCode(s.random); err != nil {
			return nil, err
		}
		hashes[i] = hashRecoveryCode(strings.ReplaceAll(codes[i], "-", ""))
	}
	if err := s.users.SetDashboardTOTP(ctx, sess.User.ID, secret, hashes); err != nil {
		return nil, storeError(err, "", "")
	}
	// The code just typed cannot sign anyone in.
	if err := s.users.UseTOTPStep(ctx, sess.User.ID, step); err != nil && !errors.Is(err, amp.ErrConflict) {
		return nil, storeError(err, "", "")
	}
	sess.User.TOTPSecret, sess.NeedsTwoFactorSetup = secret, false
	s.audit(sess.actor(ctx), sess.Account().ID, amp.AuditTwoFactorChanged, sess.User.Email, "turned on")
	return codes, nil
}

// newRecoveryCode is 50 random bits as ten base32 letters, "abcde-fghij".
func newRecoveryCode(random io.Reader) (string, error) {
	b := make([]byte, 7)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("recovery code: %w", err)
	}
	c := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:10]
	return c[:5] + "-" + c[5:], nil
}

// DisableTwoFactor turns two-factor sign-in off for the session's user,
// after checking their password (which spends from the sign-in budgets).
// FORBIDDEN while the account requires it.
func (s *Service) DisableTwoFactor(ctx context.Context, sess *Session, password, clientIP string) error {
	if sess.TwoFactorRequired {
		return amp.Errorf(amp.CodeForbidden, "The account's owner requires two-factor sign-in.")
	}
	now := s.Now()
	if err := s.login.check(ratelimit.LoginAttempt{Email: sess.User.Email, IP: clientIP}, now); err != nil {
		return err
	}
	ok, _, err := s.passwords.Verify(ctx, sess.User.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok {
		s.login.fail(ratelimit.LoginAttempt{Email: sess.User.Email, IP: clientIP}, now)
		return amp.Errorf(amp.CodeInvalidRequest, "The password is incorrect.").WithDetails(map[string]any{"field": "password"})
	}
	if err := s.users.SetDashboardTOTP(ctx, sess.User.ID, "", nil); err != nil {
		return storeError(err, "", "")
	}
	sess.User.TOTPSecret = ""
	s.audit(sess.actor(ctx), sess.Account().ID, amp.AuditTwoFactorChanged, sess.User.Email, "turned off")
	return nil
}

// RecoveryCodesLeft counts the session user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, sess *Session) (int, error) {
	n, err := s.users.RecoveryCodesLeft(ctx, sess.User.ID)
	return n, storeError(err, "", "")
}

// RequireTwoFactor sets whether every member of the session's account must
// use two-factor sign-in: the owner only, who must use it first.
func (s *Service) RequireTwoFactor(ctx context.Context, sess *Session, required bool) error {
	if err := s.Allow(sess, amp.PermEnforce2FA); err != nil {
		return err
	}
	if required && sess.User.TOTPSecret == "" {
		return amp.Errorf(amp.CodeInvalidRequest, "Turn on two-factor sign-in for yourself first.")
	}
	if err := s.users.SetTwoFactorRequired(ctx, sess.Account().ID, required); err != nil {
		return storeError(err, "", "")
	}
	sess.TwoFactorRequired = required
	detail := "required of every member"
	if !required {
		detail = "no longer required"
	}
	s.audit(sess.actor(ctx), sess.Account().ID, amp.AuditTwoFactorChanged, sess.Account().ID, detail)
	return nil
}
