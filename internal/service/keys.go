package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// KeyOptions are the settings of a new key. CreateKey checks them by the
// root's rules (amp.ValidateKeyName and the others), for every front end.
type KeyOptions struct {
	Name      string        // trimmed; at most amp.MaxKeyNameBytes of text; may be empty
	Scopes    []amp.Scope   // all scopes when empty
	RateLimit int           // the key's own requests/second, 0 for the plan's; it can only lower the plan's rate
	ExpiresIn time.Duration // 0 for never; at most amp.MaxKeyLifetime
}

// CreatedKey is a new key: the secret, shown once, and its stored form.
type CreatedKey struct {
	Secret string
	Key    *amp.APIKey
}

// CreateKey issues a key for the account in mode.
func (s *Service) CreateKey(ctx context.Context, accountID string, mode amp.Mode, opts KeyOptions) (*CreatedKey, error) {
	created, err := s.newKey(ctx, accountID, mode, opts)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateKey(ctx, created.Key); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	s.log.Info("api key created", "key_id", created.Key.ID, "account_id", accountID, "mode", mode)
	s.audit(ctx, accountID, amp.AuditKeyCreated, keyTarget(created.Key), keyDetail(created.Key))
	return created, nil
}

// keyTarget names a key in the audit log: its id and mask, never more of
// the secret.
func keyTarget(k *amp.APIKey) string { return k.ID + " (" + k.Masked() + ")" }

func keyDetail(k *amp.APIKey) string {
	d := fmt.Sprintf("name %q, %s mode", k.Name, k.Mode)
	if k.ExpiresAt != nil {
		d += ", expires " + k.ExpiresAt.Format(time.RFC3339)
	}
	return d
}

// newKey checks opts and makes a key for the account in mode, not yet
// stored.
func (s *Service) newKey(ctx context.Context, accountID string, mode amp.Mode, opts KeyOptions) (*CreatedKey, error) {
	// The rules in the order every front end reports them: mode, name,
	// scopes, rate limit, expiry.
	if err := amp.ValidateMode(mode); err != nil {
		return nil, err
	}
	opts.Name = amp.NormalizeName(opts.Name)
	if err := amp.ValidateKeyName(opts.Name); err != nil {
		return nil, err
	}
	if err := amp.ValidateScopes(opts.Scopes); err != nil {
		return nil, err
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = amp.AllScopes
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	acct, err := s.store.Account(ctx, accountID)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such account.")
	}
	if err := amp.ValidateKeyRateLimit(opts.RateLimit, acct.Plan.Rate(acct.CustomRate)); err != nil {
		return nil, err
	}
	if err := amp.ValidateKeyExpiry(opts.ExpiresIn); err != nil {
		return nil, err
	}
	secret, err := amp.NewKey(s.random, mode)
	if err != nil {
		return nil, err
	}
	id, err := amp.RandomID(s.random, "key_", 16)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	k := &amp.APIKey{
		ID:        id,
		AccountID: accountID,
		Mode:      mode,
		Name:      opts.Name,
		Hash:      amp.HashKey(secret),
		Last4:     secret[len(secret)-4:],
		Scopes:    scopes,
		RateLimit: opts.RateLimit,
		CreatedAt: now,
	}
	if opts.ExpiresIn > 0 {
		exp := now.Add(opts.ExpiresIn)
		k.ExpiresAt = &exp
	}
	return &CreatedKey{Secret: secret, Key: k}, nil
}

// Keys lists an account's keys, oldest first.
func (s *Service) Keys(ctx context.Context, accountID string) ([]*amp.APIKey, error) {
	return s.store.Keys(ctx, accountID)
}

// findKey resolves a full secret key or a key id. With accountID set, a key
// of another account is reported as not found.
func (s *Service) findKey(ctx context.Context, accountID, keyOrID string) (*amp.APIKey, error) {
	var k *amp.APIKey
	var err error
	if strings.HasPrefix(keyOrID, "amp_sk_") {
		if _, perr := amp.ParseKey(keyOrID); perr != nil {
			return nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
		}
		k, err = s.store.KeyByHash(ctx, amp.HashKey(keyOrID))
	} else {
		k, err = s.store.Key(ctx, keyOrID)
	}
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such API key.")
	}
	if accountID != "" && k.AccountID != accountID {
		return nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
	}
	return k, nil
}

// RevokeKey revokes a key, given as the full secret or its id. accountID,
// when set, restricts the lookup to that account's keys. Revoking a revoked
// key is not an error.
func (s *Service) RevokeKey(ctx context.Context, accountID, keyOrID string) (*amp.APIKey, error) {
	k, err := s.findKey(ctx, accountID, keyOrID)
	if err != nil {
		return nil, err
	}
	if k.RevokedAt == nil {
		now := s.Now()
		k.RevokedAt = &now
		if err := s.store.UpdateKey(ctx, k); err != nil {
			return nil, fmt.Errorf("revoke key: %w", err)
		}
	}
	s.keys.forget(k.AccountID)
	s.log.Info("api key revoked", "key_id", k.ID, "account_id", k.AccountID)
	s.audit(ctx, k.AccountID, amp.AuditKeyRevoked, keyTarget(k), "")
	return k, nil
}

// Rollable says why k cannot be rolled at now, or nil when it can: it is
// active, expiring, or quarantined and neither expired nor revoked (rolling
// is how the owner replaces a key that leaked; the quarantined key stays
// refused). A key rolled already is not rolled again: its replacement is
// what to roll.
func Rollable(k *amp.APIKey, now time.Time) error {
	st := k.Status(now)
	switch {
	case k.RolledTo != "" && st != amp.KeyRevoked && st != amp.KeyExpired:
		return amp.Errorf(amp.CodeInvalidRequest, "This key was rolled already: roll its replacement, %s.", k.RolledTo)
	case st.Rollable(), heldInQuarantine(k, now):
		return nil
	}
	return amp.Errorf(amp.CodeInvalidRequest, "Only an active key can be rolled.")
}

// heldInQuarantine reports whether k is quarantined and would work but for
// that: neither revoked nor expired.
func heldInQuarantine(k *amp.APIKey, now time.Time) bool {
	return k.Status(now) == amp.KeyQuarantined && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// RollKey issues a replacement for a key, with the same account, mode,
// name, scopes, rate limit and lifetime, and lets the old key work for grace
// more (0 ends it now), after which it answers KEY_EXPIRED. The new key and
// the old key's end are stored in one transaction: a failed roll changes
// nothing.
func (s *Service) RollKey(ctx context.Context, accountID, keyOrID string, grace time.Duration) (*CreatedKey, error) {
	if err := amp.ValidateRollGrace(grace); err != nil {
		return nil, err
	}
	old, err := s.findKey(ctx, accountID, keyOrID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if err := Rollable(old, now); err != nil {
		return nil, err
	}
	opts := KeyOptions{Name: old.Name, Scopes: old.Scopes, RateLimit: old.RateLimit}
	if amp.ValidateKeyName(old.Name) != nil {
		// A name stored before names were checked: the new key gets its
		// printable form, so that the key can still be rolled.
		opts.Name = amp.PrintableName(old.Name)
		if len(opts.Name) > amp.MaxKeyNameBytes {
			opts.Name = strings.ToValidUTF8(opts.Name[:amp.MaxKeyNameBytes], "")
		}
	}
	if a, err := s.Account(ctx, old.AccountID); err == nil {
		// The plan may have been lowered since: the new key keeps within it.
		opts.RateLimit = min(opts.RateLimit, a.Plan.Rate(a.CustomRate))
	}
	if old.ExpiresAt != nil {
		opts.ExpiresIn = old.ExpiresAt.Sub(old.CreatedAt)
	}
	created, err := s.newKey(ctx, old.AccountID, old.Mode, opts)
	if err != nil {
		return nil, err
	}
	end := now.Add(grace)
	if old.ExpiresAt == nil || end.Before(*old.ExpiresAt) {
		old.ExpiresAt = &end
	}
	// The two keys name each other: the old one shows as rolled, and
	// which key replaced it.
	created.Key.RolledFrom, old.RolledTo = old.ID, created.Key.ID
	switch err := s.store.RollKey(ctx, old, created.Key); {
	case errors.Is(err, amp.ErrConflict):
		// Revoked or rolled since findKey read it.
		if k, kerr := s.store.Key(ctx, old.ID); kerr == nil {
			if err := Rollable(k, now); err != nil {
				return nil, err
			}
		}
		return nil, amp.Errorf(amp.CodeInvalidRequest, "Only an active key can be rolled.")
	case err != nil:
		return nil, storeError(fmt.Errorf("roll key: %w", err), amp.CodeNotFound, "No such API key.")
	}
	s.keys.forget(old.AccountID)
	s.log.Info("api key rolled", "key_id", old.ID, "new_key_id", created.Key.ID, "grace", grace.String())
	s.audit(ctx, old.AccountID, amp.AuditKeyRolled, keyTarget(old),
		fmt.Sprintf("replaced by %s, old key ends %s", keyTarget(created.Key), old.ExpiresAt.Format(time.RFC3339)))
	return created, nil
}

// CreateAccount creates an account on a plan. customRate sets an enterprise
// account's requests/second.
func (s *Service) CreateAccount(ctx context.Context, name string, plan amp.Plan, customRate int) (*amp.Account, error) {
	name = amp.NormalizeName(name)
	if err := amp.ValidateAccountName(name); err != nil {
		return nil, err
	}
	if plan == "" {
		plan = amp.PlanStarter
	}
	if err := validatePlan(plan, customRate); err != nil {
		return nil, err
	}
	id, err := amp.RandomID(s.random, "acct_", 16)
	if err != nil {
		return nil, err
	}
	a := &amp.Account{ID: id, Name: name, Plan: plan, CustomRate: customRate, CreatedAt: s.Now()}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	s.log.Info("account created", "account_id", id, "plan", plan)
	return a, nil
}

func validatePlan(plan amp.Plan, customRate int) error {
	if !plan.Valid() {
		return amp.Errorf(amp.CodeInvalidRequest, "plan must be starter, pro or enterprise.")
	}
	if customRate < 0 || customRate > 1_000_000 {
		return amp.Errorf(amp.CodeInvalidRequest, "rate must be between 1 and 1000000 requests/second.")
	}
	if customRate > 0 && plan != amp.PlanEnterprise {
		return amp.Errorf(amp.CodeInvalidRequest, "A custom rate applies to the enterprise plan only.")
	}
	return nil
}

// Account returns an account.
func (s *Service) Account(ctx context.Context, id string) (*amp.Account, error) {
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such account.")
	}
	return a, nil
}

// UpdateAccount applies change to an account and stores it.
func (s *Service) UpdateAccount(ctx context.Context, id string, change func(a *amp.Account) error) (*amp.Account, error) {
	a, err := s.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	before := *a
	if err := change(a); err != nil {
		return nil, err
	}
	a.Name = amp.NormalizeName(a.Name)
	if err := amp.ValidateAccountName(a.Name); err != nil {
		return nil, err
	}
	if err := validatePlan(a.Plan, a.CustomRate); err != nil {
		return nil, err
	}
	if err := amp.ValidateHoldout(a.HoldoutPercent); err != nil {
		return nil, err
	}
	if err := s.store.UpdateAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	s.keys.forget(id)
	if before.Plan != a.Plan || before.CustomRate != a.CustomRate {
		s.audit(ctx, id, amp.AuditPlanChanged, id, fmt.Sprintf("%s (rate %d) → %s (rate %d)", before.Plan, before.CustomRate, a.Plan, a.CustomRate))
	}
	var changed []string
	if before.Name != a.Name {
		changed = append(changed, fmt.Sprintf("name %q → %q", before.Name, a.Name))
	}
	if before.HoldoutPercent != a.HoldoutPercent {
		changed = append(changed, fmt.Sprintf("holdout %d%% → %d%%", before.HoldoutPercent, a.HoldoutPercent))
	}
	if len(changed) > 0 {
		s.audit(ctx, id, amp.AuditAccountChanged, id, strings.Join(changed, ", "))
	}
	return a, nil
}

// EnsureDefaultAccount creates, on a store without accounts, the "default"
// account (plan starter) and one test key, and returns that key's secret.
// On a store that has accounts it returns an empty secret.
func (s *Service) EnsureDefaultAccount(ctx context.Context) (*amp.Account, string, error) {
	accts, err := s.store.Accounts(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(accts) > 0 {
		for _, a := range accts {
			if a.Name == amp.DefaultAccountName {
				return a, "", nil
			}
		}
		return accts[0], "", nil
	}
	a, err := s.CreateAccount(ctx, amp.DefaultAccountName, amp.PlanStarter, 0)
	if err != nil {
		return nil, "", err
	}
	k, err := s.CreateKey(ctx, a.ID, amp.ModeTest, KeyOptions{Name: "first test key"})
	if err != nil {
		return nil, "", errors.Join(errors.New("create first key"), err)
	}
	return a, k.Secret, nil
}
