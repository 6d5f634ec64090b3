package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/amp-protocol/amp"
)

// GetContext decides how to talk to a user about a task, logs the decision
// under requestID with its propensity, and returns the recommendation. A
// user seen for the first time gets a profile in cold start.
func (s *Service) GetContext(ctx context.Context, p *Principal, requestID string, req *amp.ContextRequest) (*amp.Context, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	t := p.Tenant()
	now := s.Now()
	profile, err := s.store.Profile(ctx, t, req.UserID)
	isNew := errors.Is(err, amp.ErrNotFound)
	if err != nil && !isNew {
		return nil, storeError(err, "", "")
	}
	pop, err := s.store.Population(ctx, t)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	var userModel []byte
	interactions := 0
	if !isNew {
		userModel, interactions = profile.Model, profile.OutcomeCount
	}
	holdout := inHoldout(t, req.UserID, p.Account.HoldoutPercent)
	_, endDecide := s.tracer.Start(ctx, amp.SpanDecide)
	choice, err := s.learner.Decide(&amp.DecideInput{
		User:         userModel,
		Population:   pop.Model,
		Interactions: interactions,
		Context:      amp.LearnContext{Task: req.Task, TaskType: req.TaskType, Complexity: req.Complexity, Hour: now.Hour()},
		Holdout:      holdout,
		Rand:         s.newRand(),
	})
	endDecide(err)
	if err != nil {
		return nil, fmt.Errorf("decide: %w", err)
	}
	// A request without a taskType is logged with the kind of task the
	// learner read from its text, so that its outcome teaches that kind;
	// the text itself is not stored.
	taskType := req.TaskType
	if taskType == "" {
		taskType = choice.TaskKind
	}
	d := &amp.Decision{
		RequestID:      requestID,
		Tenant:         t,
		UserID:         req.UserID,
		TaskType:       taskType,
		TaskComplexity: req.Complexity,
		Recommendation: choice.Recommendation,
		Propensity:     choice.Propensity,
		Explored:       choice.Explored,
		Holdout:        holdout,
		Confidence:     choice.Confidence,
		Interactions:   interactions,
		CreatedAt:      now,
	}
	var created *amp.ProfileRecord
	if isNew {
		created = &amp.ProfileRecord{Tenant: t, UserID: req.UserID, CreatedAt: now, UpdatedAt: now}
	}
	if err := s.store.SaveDecision(ctx, d, created); err != nil {
		return nil, storeError(fmt.Errorf("save decision: %w", err), "", "")
	}
	return &amp.Context{
		RequestID:      requestID,
		Recommendation: choice.Recommendation,
		Confidence:     choice.Confidence,
		Rationale:      choice.Rationale,
		Metadata: amp.ContextMetadata{
			ProfilePhase:     amp.PhaseFor(interactions),
			InteractionCount: interactions,
			ExplorationMode:  choice.Explored,
		},
	}, nil
}

// ReportOutcome stores the outcome of a logged decision and teaches the
// user's model from it, in one transaction: it returns only once the
// outcome is durable, and the user's next context reflects it. What the
// outcome teaches the tenant's population is stored with it as a delta,
// which the background jobs fold in (FoldPopulations) within a second, or
// sooner once the instance has stored a few dozen outcomes. A requestId of another account or mode is unknown; a second outcome
// leaves the first unchanged; a decision older than RequestTTL no longer
// takes outcomes.
func (s *Service) ReportOutcome(ctx context.Context, p *Principal, req *amp.OutcomeRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	now := s.Now()
	// apply may run more than once (see amp.OutcomeFunc): it only computes.
	_, err := s.store.RecordOutcome(ctx, p.Tenant(), req.RequestID,
		func(d *amp.Decision, reported bool, prof *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			if reported {
				return nil, nil, errAlreadyReported()
			}
			if now.Sub(d.CreatedAt) > RequestTTL {
				return nil, nil, amp.Errorf(amp.CodeRequestExpired,
					"This requestId was issued more than 24 hours ago and no longer accepts outcomes.").
					WithDetails(map[string]any{"issuedAt": d.CreatedAt.UTC().Format(time.RFC3339)})
			}
			o := &amp.OutcomeRecord{
				RequestID:    d.RequestID,
				Tenant:       d.Tenant,
				UserID:       d.UserID,
				Started:      *req.Started,
				Completed:    req.Completed,
				TimeToStart:  req.TimeToStart,
				FlowState:    req.FlowState,
				Satisfaction: req.Satisfaction,
				Metadata:     req.Metadata,
				ReportedAt:   now,
			}
			_, endLearn := s.tracer.Start(ctx, amp.SpanLearn)
			learned, err := s.learner.Learn(&amp.LearnInput{
				User:       prof.Model,
				Population: pop.Model,
				Decision:   d,
				Outcome:    o,
				Now:        now,
			})
			endLearn(err)
			if err != nil {
				return nil, nil, fmt.Errorf("learn: %w", err)
			}
			o.Reward = learned.Reward
			prof.Model = learned.User
			prof.OutcomeCount++
			prof.UpdatedAt = now
			return o, learned.PopulationDelta, nil
		})
	switch {
	case errors.Is(err, amp.ErrNotFound):
		return amp.Errorf(amp.CodeInvalidRequestID, "No request with this requestId exists for this API key's account and mode.")
	case errors.Is(err, amp.ErrConflict):
		return errAlreadyReported()
	case err != nil:
		return storeError(err, "", "")
	}
	s.outcomeStored()
	return nil
}

func errAlreadyReported() error {
	return amp.Errorf(amp.CodeOutcomeAlreadyReported, "An outcome was already reported for this requestId; the first one is kept.")
}
