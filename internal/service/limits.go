package service

import (
	"context"

	"github.com/amp-protocol/amp"
)

// Admit applies the account's rate limit and monthly quota to one request
// of the principal. Without a configured Limiter every request is admitted
// with an empty state.
func (s *Service) Admit(ctx context.Context, p *Principal) (amp.RateState, error) {
	if s.limiter == nil {
		return amp.RateState{}, nil
	}
	now := s.now()
	st, err := s.limiter.Admit(ctx, p.Account, p.Key, now)
	if amp.ErrorCode(err) == amp.CodeRateLimitExceeded {
		s.limited.refused(p.Key.ID, now.UTC())
	}
	return st, err
}

// Finish records the end of an admitted request: its status for the quota,
// and the event for metering and the request log.
func (s *Service) Finish(ctx context.Context, p *Principal, ev amp.RequestEvent) {
	if s.limiter != nil {
		s.limiter.Finish(ctx, p.Account, p.Key, ev.Status, s.now())
	}
	if s.meter != nil {
		s.meter.Record(ev)
	}
	if s.requests != nil {
		s.requests.record(ev)
	}
}
