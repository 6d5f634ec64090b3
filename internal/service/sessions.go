package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/amp-protocol/amp"
)

// Sessions. A session token is 32 random bytes; the browser holds it and
// the store holds only its SHA-256, so a leaked database does not let
// anyone in. A token is created at every sign-in and sign-up and never
// accepted from anywhere else, so a token planted in a victim's browser
// before they sign in is worthless afterwards (session fixation); the
// session the browser came with is deleted too.
//
// A session ends after SessionIdle without a request or SessionLifetime
// after it began, whichever is first, at sign-out, and when the password
// changes (every session of the user ends).

// Default session timeouts.
const (
	DefaultSessionIdle     = 12 * time.Hour
	DefaultSessionLifetime = 7 * 24 * time.Hour
	// touchEvery bounds the writes that keep a session alive: its last-seen
	// time is stored at most once per touchEvery.
	touchEvery = time.Minute
	// sweepEvery is how often Run clears expired sessions.
	sweepEvery = time.Hour
)

const tokenBytes = 32

// ErrNoSession is the answer for a missing, malformed, unknown, expired or
// superseded session token: the front end asks the user to sign in.
var ErrNoSession = amp.Errorf(amp.CodeUnauthorized, "Sign in to continue.")

// Membership is an account a user acts for, and the role they hold in it.
type Membership struct {
	Account *amp.Account
	Role    amp.Role
}

// Session is a signed-in user acting for one account, one of those they
// are a member of.
type Session struct {
	// Token is the session's secret, for the user's browser only: it is
	// never stored (the store keeps its SHA-256) or logged.
	Token string
	// DeviceToken, set by SignIn, is the token the front end gives the
	// browser to keep (the dashboard: a long-lived cookie) and present at
	// its next sign-ins (SignInAttempt.Device); like Token, never logged.
	DeviceToken string
	User        *amp.DashboardUser
	// Membership is the account the session acts for and the user's role
	// in it: what every permission check of the session reads.
	Membership Membership
	// Accounts are every account the user is a member of, first joined
	// first, for the front end's account switcher (SwitchAccount).
	Accounts []Membership
	// TwoFactorRequired is whether the account requires two-factor
	// sign-in; NeedsTwoFactorSetup, whether this user must set it up
	// before doing anything else.
	TwoFactorRequired   bool
	NeedsTwoFactorSetup bool
	record              *amp.DashboardSession
}

// Account is the account the session acts for.
func (s *Session) Account() *amp.Account { return s.Membership.Account }

// Tenant is the session's account in mode m.
func (s *Session) Tenant(m amp.Mode) amp.Tenant {
	return amp.Tenant{AccountID: s.Membership.Account.ID, Mode: m}
}

// SessionTimeouts returns how long a session lasts without a request, and
// at most.
func (s *Service) SessionTimeouts() (idle, lifetime time.Duration) {
	return s.sessionIdle, s.sessionLifetime
}

// NewToken returns a fresh random token of the session tokens' shape,
// base64url without padding, for a front end's own short-lived secrets
// (the dashboard's pre-session CSRF cookie).
func (s *Service) NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return "", fmt.Errorf("service: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidToken reports whether s has the shape of a token, so that garbage
// cookies are refused before any lookup.
func ValidToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// hashToken is the stored form of a session token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// memberships returns the accounts u is a member of, and the one of them
// with the id accountID: ErrNoSession when u is not a member of it (any
// more).
func (s *Service) memberships(ctx context.Context, u *amp.DashboardUser, accountID string) (Membership, []Membership, error) {
	ms, err := s.users.DashboardMemberships(ctx, u.ID)
	if err != nil {
		return Membership{}, nil, storeError(err, "", "")
	}
	var (
		cur Membership
		all = make([]Membership, 0, len(ms))
	)
	for _, m := range ms {
		a, err := s.Account(ctx, m.AccountID)
		if err != nil {
			return Membership{}, nil, err
		}
		all = append(all, Membership{Account: a, Role: m.Role})
		if m.AccountID == accountID {
			cur = all[len(all)-1]
		}
	}
	if cur.Account == nil {
		return Membership{}, nil, ErrNoSession
	}
	return cur, all, nil
}

// Session resolves a session token. It returns ErrNoSession for a token
// that is not a live session, and other errors for a store that failed.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if s.users == nil || !ValidToken(token) {
		return nil, ErrNoSession
	}
	hash := hashToken(token)
	rec, err := s.users.DashboardSession(ctx, hash)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, storeError(err, "", "")
	}
	now := s.Now()
	if !now.Before(rec.ExpiresAt) || now.Sub(rec.LastSeenAt) >= s.sessionIdle {
		if err := s.users.DeleteDashboardSession(ctx, hash); err != nil {
			s.log.Warn("deleting an expired dashboard session failed", "err", err)
		}
		return nil, ErrNoSession
	}
	u, err := s.users.DashboardUser(ctx, rec.UserID)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, storeError(err, "", "")
	}
	if rec.CreatedAt.Before(u.PasswordChangedAt) {
		return nil, ErrNoSession
	}
	accountID := rec.AccountID
	if accountID == "" {
		accountID = u.AccountID
	}
	m, all, err := s.memberships(ctx, u, accountID)
	if err != nil {
		return nil, err
	}
	if now.Sub(rec.LastSeenAt) >= touchEvery {
		if err := s.users.TouchDashboardSession(ctx, hash, now); err != nil {
			s.log.Warn("refreshing a dashboard session failed", "err", err)
		}
	}
	return s.newSession(ctx, token, u, m, all, rec)
}

// newSession completes a Session with the account's two-factor rule.
func (s *Service) newSession(ctx context.Context, token string, u *amp.DashboardUser, m Membership, all []Membership, rec *amp.DashboardSession) (*Session, error) {
	req, err := s.users.TwoFactorRequired(ctx, m.Account.ID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	// The user as a member of the session's account, whichever account
	// their next session would start in.
	member := *u
	member.AccountID, member.Role = m.Account.ID, m.Role
	return &Session{Token: token, User: &member, Membership: m, Accounts: all, TwoFactorRequired: req,
		NeedsTwoFactorSetup: req && u.TOTPSecret == "", record: rec}, nil
}

// startSession creates a session for u acting for u.AccountID, after
// deleting the session with the token replaces, if any: a new token at
// every sign-in is what defeats session fixation.
func (s *Service) startSession(ctx context.Context, u *amp.DashboardUser, replaces string) (*Session, error) {
	if ValidToken(replaces) {
		if err := s.users.DeleteDashboardSession(ctx, hashToken(replaces)); err != nil {
			return nil, fmt.Errorf("end previous session: %w", storeError(err, "", ""))
		}
	}
	token, err := s.NewToken()
	if err != nil {
		return nil, err
	}
	m, all, err := s.memberships(ctx, u, u.AccountID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	rec := &amp.DashboardSession{
		TokenHash:  hashToken(token),
		UserID:     u.ID,
		AccountID:  u.AccountID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.sessionLifetime),
	}
	if err := s.users.CreateDashboardSession(ctx, rec); err != nil {
		return nil, fmt.Errorf("create session: %w", storeError(err, "", ""))
	}
	return s.newSession(ctx, token, u, m, all, rec)
}

// SwitchAccount makes the session act for another account the user is a
// member of, with their role there; the user's next sessions start in it
// too. NOT_FOUND for an account the user is not a member of.
func (s *Service) SwitchAccount(ctx context.Context, sess *Session, accountID string) (*Session, error) {
	err := s.users.SetDashboardSessionAccount(ctx, sess.record.TokenHash, accountID)
	if errors.Is(err, amp.ErrNotFound) {
		return nil, amp.Errorf(amp.CodeNotFound, "You are not a member of that account.")
	}
	if err != nil {
		return nil, storeError(err, "", "")
	}
	u := *sess.User
	m, all, err := s.memberships(ctx, &u, accountID)
	if err != nil {
		return nil, err
	}
	rec := *sess.record
	rec.AccountID = accountID
	s.log.Info("dashboard session switched account", "user_id", u.ID, "account_id", accountID)
	return s.newSession(ctx, sess.Token, &u, m, all, &rec)
}

// SignOut ends the session.
func (s *Service) SignOut(ctx context.Context, sess *Session) error {
	if err := s.users.DeleteDashboardSession(ctx, sess.record.TokenHash); err != nil {
		return storeError(err, "", "")
	}
	s.log.Info("dashboard user signed out", "user_id", sess.User.ID)
	return nil
}

// EndOtherSessions ends every session of the user but this one, and
// returns how many it ended.
func (s *Service) EndOtherSessions(ctx context.Context, sess *Session) (int64, error) {
	n, err := s.users.DeleteDashboardSessions(ctx, sess.User.ID, sess.record.TokenHash)
	if err != nil {
		return 0, storeError(err, "", "")
	}
	s.log.Info("other dashboard sessions signed out", "user_id", sess.User.ID, "sessions", n)
	return n, nil
}

// sweepSessions deletes expired sessions; Run calls it every sweepEvery.
func (s *Service) sweepSessions(ctx context.Context, now time.Time) {
	if s.users == nil {
		return
	}
	n, err := s.users.DeleteExpiredDashboardSessions(ctx, now, now.Add(-s.sessionIdle))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sweeping expired dashboard sessions failed", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("swept expired dashboard sessions", "sessions", n)
	}
}
