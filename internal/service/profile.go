package service

import (
	"context"
	"fmt"
	"sort"

	"github.com/amp-protocol/amp"
)

// maxTaskTypeAffinities bounds the taskTypeAffinities map of a profile.
const maxTaskTypeAffinities = 50

// GetProfile returns a user's full MotivationProfile.
func (s *Service) GetProfile(ctx context.Context, p *Principal, userID string) (*amp.Profile, error) {
	if err := amp.ValidateUserID(userID); err != nil {
		return nil, err
	}
	rec, err := s.store.Profile(ctx, p.Tenant(), userID)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No profile exists for this userId in this mode.")
	}
	return s.buildProfile(ctx, rec)
}

// UpdateProfile sets a user's preferences manually (a partial update: only
// the fields given change) and returns the full profile. It creates the
// profile when absent. The learner takes the preferences as strong evidence
// that later outcomes can still overturn. Metadata, when given, replaces the
// stored metadata.
func (s *Service) UpdateProfile(ctx context.Context, p *Principal, userID string, u *amp.ProfileUpdate) (*amp.Profile, error) {
	if err := amp.ValidateUserID(userID); err != nil {
		return nil, err
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	t := p.Tenant()
	pop, err := s.store.Population(ctx, t)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	now := s.Now()
	rec, err := s.store.UpdateProfile(ctx, t, userID, func(rec *amp.ProfileRecord, created bool) error {
		if created {
			rec.CreatedAt = now
		}
		prefs := amp.Preferences{}
		if rec.Manual != nil {
			prefs = *rec.Manual
		}
		changed := amp.Preferences{SetAt: now}
		if u.PreferredFraming != nil {
			prefs.Framing, changed.Framing = *u.PreferredFraming, *u.PreferredFraming
		}
		if u.CommunicationStyle != nil {
			prefs.Style, changed.Style = *u.CommunicationStyle, *u.CommunicationStyle
		}
		if u.ComplexityPreference != nil {
			prefs.Handling, changed.Handling = *u.ComplexityPreference, *u.ComplexityPreference
		}
		if u.EncouragementLevel != nil {
			prefs.Encouragement, changed.Encouragement = *u.EncouragementLevel, *u.EncouragementLevel
		}
		if changed != (amp.Preferences{SetAt: now}) {
			model, err := s.learner.ApplyPreferences(rec.Model, pop.Model, &changed)
			if err != nil {
				return fmt.Errorf("apply preferences: %w", err)
			}
			rec.Model = model
			prefs.SetAt = now
			rec.Manual = &prefs
		}
		if len(u.Metadata) > 0 {
			rec.Metadata = u.Metadata
		}
		rec.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, storeError(err, "", "")
	}
	return s.buildProfile(ctx, rec)
}

// DeleteProfile erases a user's profile, outcomes and pending requests in
// the principal's mode.
func (s *Service) DeleteProfile(ctx context.Context, p *Principal, userID string) error {
	if err := amp.ValidateUserID(userID); err != nil {
		return err
	}
	t := p.Tenant()
	// What the erasure receipt (profile.deleted) counts is read first: once
	// erased, it is gone. Counted only when an outbox will carry it.
	var erased amp.ErasedCounts
	if s.hooks != nil {
		rec, err := s.store.Profile(ctx, t, userID)
		if err != nil {
			return storeError(err, amp.CodeNotFound, "No profile exists for this userId in this mode.")
		}
		st, err := s.store.ProfileStats(ctx, t, userID)
		if err != nil {
			return storeError(err, "", "")
		}
		erased = amp.ErasedCounts{Profiles: 1, Outcomes: st.Outcomes, Interactions: rec.OutcomeCount}
	}
	if err := s.store.DeleteProfile(ctx, t, userID); err != nil {
		return storeError(err, amp.CodeNotFound, "No profile exists for this userId in this mode.")
	}
	if s.hooks != nil {
		s.emitLogged(ctx, t, amp.EventProfileDeleted, "", amp.ProfileDeletedData{UserID: userID, Mode: t.Mode, DeletedAt: s.Now(), Erased: erased})
	}
	if _, ok := ctx.Value(actorKey{}).(Actor); !ok {
		ctx = WithActor(ctx, Actor{KeyID: p.Key.ID})
	}
	s.audit(ctx, p.Key.AccountID, amp.AuditProfileErased, userID, "in "+string(p.Key.Mode)+" mode")
	return nil
}

// buildProfile assembles the wire profile from the stored record, the
// learner's summary and the outcome aggregates.
func (s *Service) buildProfile(ctx context.Context, rec *amp.ProfileRecord) (*amp.Profile, error) {
	pop, err := s.store.Population(ctx, rec.Tenant)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	sum, err := s.learner.Summarize(rec.Model, pop.Model)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	st, err := s.store.ProfileStats(ctx, rec.Tenant, rec.UserID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	prof := &amp.Profile{
		UserID:               rec.UserID,
		PreferredFraming:     sum.Preferred.Framing,
		CommunicationStyle:   sum.Preferred.Style,
		ComplexityPreference: sum.Preferred.Handling,
		EncouragementLevel:   sum.Preferred.Encouragement,
		TotalInteractions:    rec.OutcomeCount,
		FramingConfidence:    sum.Confidence.Framing,
		StyleConfidence:      sum.Confidence.Style,
		ComplexityConfidence: sum.Confidence.Handling,
		TaskTypeAffinities:   taskTypeAffinities(st),
		TimeOfDayPatterns:    timeOfDayPatterns(st),
		CreatedAt:            rec.CreatedAt.UTC(),
		LastUpdated:          rec.UpdatedAt.UTC(),
		ProfileVersion:       amp.ProfileVersion,
		ProfilePhase:         amp.PhaseFor(rec.OutcomeCount),
		Metadata:             rec.Metadata,
	}
	if st.Outcomes > 0 {
		prof.CompletionRate = float64(st.Completed) / float64(st.Outcomes)
		prof.FlowStateFrequency = float64(st.FlowStates) / float64(st.Outcomes)
	}
	if st.WithTimeToStart > 0 {
		prof.AverageTimeToStart = st.SumTimeToStart / float64(st.WithTimeToStart)
	}
	return prof, nil
}

// taskTypeAffinities is the completion rate per task type, for the task
// types with the most outcomes.
func taskTypeAffinities(st *amp.ProfileStats) map[string]float64 {
	type kv struct {
		name string
		c    amp.OutcomeCounts
	}
	var all []kv
	for name, c := range st.ByTaskType {
		if name != "" && c.Outcomes > 0 {
			all = append(all, kv{name, c})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].c.Outcomes != all[j].c.Outcomes {
			return all[i].c.Outcomes > all[j].c.Outcomes
		}
		return all[i].name < all[j].name
	})
	out := make(map[string]float64, min(len(all), maxTaskTypeAffinities))
	for i, e := range all {
		if i == maxTaskTypeAffinities {
			break
		}
		out[e.name] = float64(e.c.Completed) / float64(e.c.Outcomes)
	}
	return out
}

// timeOfDayPatterns groups outcomes into six four-hour UTC windows and
// reports the windows that have outcomes.
func timeOfDayPatterns(st *amp.ProfileStats) []amp.TimePattern {
	out := []amp.TimePattern{}
	for start := 0; start < 24; start += 4 {
		var c amp.OutcomeCounts
		for h := start; h < start+4; h++ {
			c.Outcomes += st.ByHour[h].Outcomes
			c.Completed += st.ByHour[h].Completed
		}
		if c.Outcomes == 0 {
			continue
		}
		out = append(out, amp.TimePattern{
			HourStart:        start,
			HourEnd:          start + 3,
			CompletionRate:   float64(c.Completed) / float64(c.Outcomes),
			InteractionCount: c.Outcomes,
		})
	}
	return out
}
