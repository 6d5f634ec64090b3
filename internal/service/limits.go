package service

import (
	"context"
	"errors"

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

// Refused meters a request refused before any handler ran, when the
// refusal names a key: err is what Authenticate answered (a *KeyFailure:
// the key exists but is revoked, quarantined or expired), or what Admit
// answered for p (the rate limit or the quota). Other refusals (no key, an
// unknown one) have no account to count against and are not metered. The
// caller fills in the front end's part of ev (route, status, client,
// duration, time); the key, account, mode and admission are set here.
// Refusals are their own series: a burst of them is what a leaked key
// looks like.
func (s *Service) Refused(ctx context.Context, p *Principal, err error, ev amp.RequestEvent) {
	if s.meter == nil {
		return
	}
	if kf, ok := errors.AsType[*KeyFailure](err); ok {
		p, ev.Admission = kf.Principal, amp.AdmissionAuthFailed
	} else {
		switch amp.ErrorCode(err) {
		case amp.CodeRateLimitExceeded:
			ev.Admission = amp.AdmissionRateLimited
		case amp.CodeQuotaExceeded:
			ev.Admission = amp.AdmissionQuotaExceeded
		default:
			return
		}
	}
	if p == nil {
		return
	}
	ev.KeyID, ev.AccountID, ev.Mode = p.Key.ID, p.Key.AccountID, p.Key.Mode
	s.meter.Record(ev)
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
