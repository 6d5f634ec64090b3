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

// Bounds of key administration input.
const (
	MaxKeyNameBytes     = 100
	MaxAccountNameBytes = 100
	MaxRollGrace        = 7 * 24 * time.Hour
	MaxKeyLifetime      = 10 * 365 * 24 * time.Hour
)

// KeyOptions are the settings of a new key.
type KeyOptions struct {
	Name      string
	Scopes    []amp.Scope   // all scopes when empty
	RateLimit int           // the key's own requests/second, 0 for the plan's; it can only lower the plan's rate
	ExpiresIn time.Duration // 0 for never
}

// CreatedKey is a new key: the secret, shown once, and its stored form.
type CreatedKey struct {
	Secret string
	Key    *amp.APIKey
}

// CreateKey issues a key for the account in mode.
func (s *Service) CreateKey(ctx context.Context, accountID string, mode amp.Mode, opts KeyOptions) (*CreatedKey, error) {
	if !mode.Valid() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "mode must be test or live.")
	}
	if len(opts.Name) > MaxKeyNameBytes {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "A key name must be at most %d bytes.", MaxKeyNameBytes)
	}
	if !amp.ValidText(opts.Name) {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "A key name must be valid UTF-8 without NUL characters.")
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = amp.AllScopes
	}
	for _, sc := range scopes {
		if !sc.Valid() {
			return nil, amp.Errorf(amp.CodeInvalidRequest, "Unknown scope %q; scopes are context, outcome, profiles:read, profiles:write.", sc)
		}
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	if opts.RateLimit < 0 {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "A key's rate limit must be positive.")
	}
	if opts.ExpiresIn < 0 || opts.ExpiresIn > MaxKeyLifetime {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "A key's expiry must be in the future and at most 10 years away.")
	}
	if _, err := s.store.Account(ctx, accountID); err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such account.")
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
	if err := s.store.CreateKey(ctx, k); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	s.log.Info("api key created", "key_id", k.ID, "account_id", accountID, "mode", mode)
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
	return k, nil
}

// RollKey issues a replacement for a key, with the same account, mode,
// name, scopes, rate limit and lifetime, and lets the old key work for grace
// more (0 ends it now), after which it answers KEY_EXPIRED.
func (s *Service) RollKey(ctx context.Context, accountID, keyOrID string, grace time.Duration) (*CreatedKey, error) {
	if grace < 0 || grace > MaxRollGrace {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The grace period must be between 0 and 7 days.")
	}
	old, err := s.findKey(ctx, accountID, keyOrID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if old.RevokedAt != nil || (old.ExpiresAt != nil && !now.Before(*old.ExpiresAt)) {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "Only an active key can be rolled.")
	}
	opts := KeyOptions{Name: old.Name, Scopes: old.Scopes, RateLimit: old.RateLimit}
	if old.ExpiresAt != nil {
		opts.ExpiresIn = old.ExpiresAt.Sub(old.CreatedAt)
	}
	created, err := s.CreateKey(ctx, old.AccountID, old.Mode, opts)
	if err != nil {
		return nil, err
	}
	end := now.Add(grace)
	if old.ExpiresAt == nil || end.Before(*old.ExpiresAt) {
		old.ExpiresAt = &end
	}
	if err := s.store.UpdateKey(ctx, old); err != nil {
		return nil, fmt.Errorf("roll key: %w", err)
	}
	s.keys.forget(old.AccountID)
	s.log.Info("api key rolled", "key_id", old.ID, "new_key_id", created.Key.ID, "grace", grace.String())
	return created, nil
}

// CreateAccount creates an account on a plan. customRate sets an enterprise
// account's requests/second.
func (s *Service) CreateAccount(ctx context.Context, name string, plan amp.Plan, customRate int) (*amp.Account, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxAccountNameBytes || !amp.ValidText(name) {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "An account name is required, at most %d bytes of UTF-8 without NUL characters.", MaxAccountNameBytes)
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
	if err := change(a); err != nil {
		return nil, err
	}
	if err := validatePlan(a.Plan, a.CustomRate); err != nil {
		return nil, err
	}
	if a.HoldoutPercent < 0 || a.HoldoutPercent > 100 {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "holdoutPercent must be between 0 and 100.")
	}
	if err := s.store.UpdateAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	s.keys.forget(id)
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
