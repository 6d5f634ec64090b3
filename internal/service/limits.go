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
	return s.limiter.Admit(ctx, p.Account, p.Key, s.now())
}

// Refused meters a request of the principal's key refused before any
// handler ran: by the rate limit or the quota (ev.Admission says which), or
// because the key failed (a *KeyFailure). Refusals are metered as their own
// series: a burst of them is what a leaked key looks like.
func (s *Service) Refused(ctx context.Context, p *Principal, ev amp.RequestEvent) {
	if s.meter != nil {
		s.meter.Record(ev)
	}
}

// Finish records the end of an admitted request: its status for the quota,
// and the event for metering.
func (s *Service) Finish(ctx context.Context, p *Principal, ev amp.RequestEvent) {
	if s.limiter != nil {
		s.limiter.Finish(ctx, p.Account, p.Key, ev.Status, s.now())
	}
	if s.meter != nil {
		s.meter.Record(ev)
	}
}
