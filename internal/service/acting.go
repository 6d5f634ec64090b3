package service

import (
	"context"
	"time"

	"github.com/amp-protocol/amp"
)

// The operations a dashboard user does on their account, each checked
// against the session's role and audited under the user's name. They apply
// the rules of the operator's operations (CreateKey, RollKey, ...), which
// they call.

// CreateKeyAs issues a key for the session's account: developer or above.
func (s *Service) CreateKeyAs(ctx context.Context, sess *Session, mode amp.Mode, opts KeyOptions) (*CreatedKey, error) {
	if err := s.Allow(sess, amp.PermKeys); err != nil {
		return nil, err
	}
	return s.CreateKey(sess.actor(ctx), sess.Account().ID, mode, opts)
}

// RollKeyAs rolls a key of the session's account: developer or above, and
// admin or above for a quarantined key (replacing a key that may have
// leaked is the owner's and admins' call, as restoring it is).
func (s *Service) RollKeyAs(ctx context.Context, sess *Session, keyID string, grace time.Duration) (*CreatedKey, error) {
	if err := s.Allow(sess, amp.PermKeys); err != nil {
		return nil, err
	}
	if keyID == "" {
		return nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
	}
	k, err := s.findKey(ctx, sess.Account().ID, keyID)
	if err != nil {
		return nil, err
	}
	if k.Quarantined() {
		if err := s.Allow(sess, amp.PermQuarantine); err != nil {
			return nil, err
		}
	}
	return s.RollKey(sess.actor(ctx), sess.Account().ID, keyID, grace)
}

// RevokeKeyAs revokes a key of the session's account: developer or above.
func (s *Service) RevokeKeyAs(ctx context.Context, sess *Session, keyID string) (*amp.APIKey, error) {
	if err := s.Allow(sess, amp.PermKeys); err != nil {
		return nil, err
	}
	if keyID == "" {
		return nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
	}
	return s.RevokeKey(sess.actor(ctx), sess.Account().ID, keyID)
}

// UpdateAccountAs changes the session's account (name, holdout, plan):
// admin or above.
func (s *Service) UpdateAccountAs(ctx context.Context, sess *Session, change func(a *amp.Account) error) (*amp.Account, error) {
	if err := s.Allow(sess, amp.PermAccount); err != nil {
		return nil, err
	}
	a, err := s.UpdateAccount(sess.actor(ctx), sess.Account().ID, change)
	if err != nil {
		return nil, err
	}
	sess.Membership.Account = a
	return a, nil
}

// EraseProfileAs erases a profile of the session's account in mode: admin
// or above.
func (s *Service) EraseProfileAs(ctx context.Context, sess *Session, mode amp.Mode, userID string) error {
	if err := s.Allow(sess, amp.PermProfiles); err != nil {
		return err
	}
	return s.EraseProfile(sess.actor(ctx), sess.Tenant(mode), userID)
}
