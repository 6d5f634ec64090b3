package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
)

// MaxQuarantineReasonBytes bounds the reason given for a quarantine.
const MaxQuarantineReasonBytes = 200

// quarantinedError is the refusal of a quarantined key: 401
// KEY_QUARANTINED, saying why and what the owner can do.
func quarantinedError(k *amp.APIKey) error {
	return amp.Errorf(amp.CodeKeyQuarantined,
		"This API key is quarantined because it may have leaked (%s). Its owner can restore it or roll it: amp keys restore, or the dashboard.",
		k.QuarantineReason).WithDetails(map[string]any{"quarantinedAt": k.QuarantinedAt.UTC(), "reason": k.QuarantineReason})
}

// QuarantineKey holds back a key, given as the full secret or its id, that
// may have leaked: every request with it is refused with KEY_QUARANTINED
// (on every instance within the key cache's 500 ms) until its owner
// restores it. accountID, when set, restricts the lookup to that account.
// Quarantining a quarantined key changes nothing; a revoked key cannot be
// quarantined.
func (s *Service) QuarantineKey(ctx context.Context, accountID, keyOrID, reason string) (*amp.APIKey, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "quarantined by its owner"
	}
	if len(reason) > MaxQuarantineReasonBytes || !utf8.ValidString(reason) {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "A quarantine reason must be valid UTF-8 of at most %d bytes.", MaxQuarantineReasonBytes)
	}
	k, err := s.findKey(ctx, accountID, keyOrID)
	if err != nil {
		return nil, err
	}
	if k.RevokedAt != nil {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "This key is revoked; a revoked key cannot be quarantined.")
	}
	if _, err := s.quarantine(ctx, k, reason, ""); err != nil {
		return nil, err
	}
	return k, nil
}

// quarantine sets k's quarantine (url: where a scanner found it, or ""),
// stores it and records key.quarantined and an audit entry; it reports
// false if k was quarantined already.
func (s *Service) quarantine(ctx context.Context, k *amp.APIKey, reason, url string) (bool, error) {
	if k.Quarantined() {
		return false, nil
	}
	now := s.Now()
	k.QuarantinedAt, k.QuarantineReason, k.QuarantineURL = &now, reason, url
	if err := s.store.UpdateKey(ctx, k); err != nil {
		return false, storeError(fmt.Errorf("quarantine key: %w", err), "", "")
	}
	s.keys.forget(k.AccountID)
	s.log.Warn("api key quarantined", "key_id", k.ID, "account_id", k.AccountID, "mode", k.Mode, "reason", reason)
	s.emitLogged(ctx, k.Tenant(), amp.EventKeyQuarantined, "", amp.KeyQuarantinedData{Key: eventKey(k), Reason: reason, QuarantinedAt: now})
	detail := reason
	if url != "" {
		detail += ", at " + url
	}
	s.audit(ctx, k.AccountID, amp.AuditKeyQuarantined, keyTarget(k), detail)
	return true, nil
}

// RestoreKey lifts a key's quarantine: its owner judged the leak harmless
// (or the key was rolled and the old one is to serve its grace period).
func (s *Service) RestoreKey(ctx context.Context, accountID, keyOrID string) (*amp.APIKey, error) {
	k, err := s.findKey(ctx, accountID, keyOrID)
	if err != nil {
		return nil, err
	}
	if !k.Quarantined() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "This key is not quarantined.")
	}
	reason := k.QuarantineReason
	k.QuarantinedAt, k.QuarantineReason, k.QuarantineURL = nil, "", ""
	if err := s.store.UpdateKey(ctx, k); err != nil {
		return nil, storeError(fmt.Errorf("restore key: %w", err), "", "")
	}
	s.keys.forget(k.AccountID)
	s.log.Info("api key restored from quarantine", "key_id", k.ID, "account_id", k.AccountID)
	s.audit(ctx, k.AccountID, amp.AuditKeyRestored, keyTarget(k), "had been quarantined: "+reason)
	return k, nil
}

// leakActionSetting names the setting that holds an account's LeakAction.
func leakActionSetting(accountID string) string { return "leak_action:" + accountID }

// LeakAction returns what happens to the account's keys that a secret
// scanner reports: quarantine (the default) or revoke.
func (s *Service) LeakAction(ctx context.Context, accountID string) (amp.LeakAction, error) {
	v, err := s.store.Setting(ctx, leakActionSetting(accountID))
	if err != nil {
		return "", storeError(err, "", "")
	}
	if amp.LeakAction(v) == amp.LeakActionRevoke {
		return amp.LeakActionRevoke, nil
	}
	return amp.LeakActionQuarantine, nil
}

// SetLeakAction sets what happens to the account's keys that a secret
// scanner reports.
func (s *Service) SetLeakAction(ctx context.Context, accountID string, action amp.LeakAction) error {
	if action != amp.LeakActionQuarantine && action != amp.LeakActionRevoke {
		return amp.Errorf(amp.CodeInvalidRequest, "The leak action must be quarantine or revoke.")
	}
	if _, err := s.Account(ctx, accountID); err != nil {
		return err
	}
	if err := s.store.SetSetting(ctx, leakActionSetting(accountID), string(action)); err != nil {
		return storeError(err, "", "")
	}
	return nil
}
