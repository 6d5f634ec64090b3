package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/amp-protocol/amp"
)

// The operations below serve the web dashboard, whose user acts for a whole
// account and chooses the mode in the page rather than through a key. They
// apply the same rules as the API routes; only the way the tenant is named
// differs.

// MaxOutcomeHistory bounds the outcome history of ProfileDetail.
const MaxOutcomeHistory = 200

// ProfileDetail is everything the dashboard shows about one user: the wire
// profile, the learner's view of it and the latest outcomes.
type ProfileDetail struct {
	Profile *amp.Profile
	// Summary holds the learned strength of every option, for the chart.
	Summary *amp.ModelSummary
	// Manual is what was set through PUT /v1/profile; nil if nothing was.
	Manual *amp.Preferences
	// Outcomes are the latest outcomes, newest first.
	Outcomes []*amp.OutcomeRecord
}

// PrepareAccount validates a new account and returns it with a fresh id,
// unstored, for a caller that stores it in one transaction with rows of its
// own (the dashboard's sign-up creates the account and its user together).
// It applies CreateAccount's rules.
func (s *Service) PrepareAccount(name string, plan amp.Plan) (*amp.Account, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxAccountNameBytes || !amp.ValidText(name) {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "An account name is required, at most %d bytes of UTF-8 without NUL characters.", MaxAccountNameBytes)
	}
	if plan == "" {
		plan = amp.PlanStarter
	}
	if err := validatePlan(plan, 0); err != nil {
		return nil, err
	}
	id, err := amp.RandomID(s.random, "acct_", 16)
	if err != nil {
		return nil, err
	}
	return &amp.Account{ID: id, Name: name, Plan: plan, CreatedAt: s.Now()}, nil
}

// ProfileDetail returns a user's profile in tenant t with the learner's
// summary and up to limit of the user's latest outcomes (at most
// MaxOutcomeHistory). NOT_FOUND if the user has no profile in t.
func (s *Service) ProfileDetail(ctx context.Context, t amp.Tenant, userID string, limit int) (*ProfileDetail, error) {
	if err := amp.ValidateUserID(userID); err != nil {
		return nil, err
	}
	if !t.Mode.Valid() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "mode must be test or live.")
	}
	limit = min(max(limit, 0), MaxOutcomeHistory)
	rec, err := s.store.Profile(ctx, t, userID)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No profile exists for this userId in this mode.")
	}
	prof, err := s.buildProfile(ctx, rec)
	if err != nil {
		return nil, err
	}
	pop, err := s.store.Population(ctx, t)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	sum, err := s.learner.Summarize(rec.Model, pop.Model)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	d := &ProfileDetail{Profile: prof, Summary: sum, Manual: rec.Manual}
	if limit > 0 {
		if d.Outcomes, err = s.store.Outcomes(ctx, t, userID, limit); err != nil {
			return nil, storeError(err, "", "")
		}
	}
	return d, nil
}

// EraseProfile erases a user's profile, outcomes and pending requests in
// tenant t, as DELETE /v1/profile does. NOT_FOUND if there is no profile.
func (s *Service) EraseProfile(ctx context.Context, t amp.Tenant, userID string) error {
	if !t.Mode.Valid() {
		return amp.Errorf(amp.CodeInvalidRequest, "mode must be test or live.")
	}
	p := &Principal{Key: &amp.APIKey{AccountID: t.AccountID, Mode: t.Mode, Scopes: amp.AllScopes}}
	if err := s.DeleteProfile(ctx, p, userID); err != nil {
		return err
	}
	s.log.Info("profile erased from the dashboard", "account_id", t.AccountID, "mode", t.Mode)
	return nil
}
