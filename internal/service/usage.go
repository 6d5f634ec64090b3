package service

import (
	"context"
	"fmt"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/monitor"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// Usage reports: what an account's keys did, read from the meter's counts
// through internal/monitor, and the month's live usage against the plan.
// The dashboard shows them; the rules that pick the data (the account's
// own keys, in one mode) are here.

// The report types are internal/monitor's, named here so that a front end
// needs only this package.
type (
	UsageReport  = monitor.Report
	UsageFlags   = monitor.Flags
	CountryShare = monitor.CountryShare
)

// MaxUsageWindow bounds the span of a usage report.
const MaxUsageWindow = 366 * 24 * time.Hour

// QuotaSource reports an account's live usage this month against its
// plan, counting what it has not stored yet (a *ratelimit.Limiter does).
type QuotaSource interface {
	QuotaUsage(ctx context.Context, a *amp.Account, now time.Time) (ratelimit.QuotaState, error)
}

// QuotaUsage is an account's live usage this month.
type QuotaUsage struct {
	Used     int64
	Limit    int64 // 0: unlimited
	ResetsAt time.Time
}

// Fraction is the share of the quota used, at most 1; 0 when unlimited.
func (q *QuotaUsage) Fraction() float64 {
	if q.Limit <= 0 {
		return 0
	}
	return min(float64(q.Used)/float64(q.Limit), 1)
}

// Remaining is what is left of the quota; 0 when unlimited.
func (q *QuotaUsage) Remaining() int64 {
	if q.Limit <= 0 {
		return 0
	}
	return max(q.Limit-q.Used, 0)
}

// UsageRecorded reports whether the server meters usage, which every
// report but QuotaUsage needs.
func (s *Service) UsageRecorded() bool { return s.usage != nil }

// QuotaUsage returns the account's live usage this month: from the quota
// source when configured (it knows the counts not yet stored), else from
// the stored counts, else nil.
func (s *Service) QuotaUsage(ctx context.Context, a *amp.Account) (*QuotaUsage, error) {
	now := s.Now()
	switch {
	case s.quota != nil:
		q, err := s.quota.QuotaUsage(ctx, a, now)
		if err != nil {
			return nil, storeError(err, "", "")
		}
		return &QuotaUsage{Used: q.Used, Limit: q.Limit, ResetsAt: q.ResetsAt}, nil
	case s.usage != nil:
		month := amp.MonthStart(now)
		n, err := s.store.QuotaUsage(ctx, a.ID, month)
		if err != nil {
			return nil, storeError(fmt.Errorf("quota usage: %w", err), "", "")
		}
		return &QuotaUsage{Used: n, Limit: a.Plan.MonthlyQuota(), ResetsAt: month.AddDate(0, 1, 0)}, nil
	}
	return nil, nil
}

// TenantKey returns the key id of the tenant's account in the tenant's
// mode; a key of another account or mode is NOT_FOUND, as a missing one
// is.
func (s *Service) TenantKey(ctx context.Context, t amp.Tenant, id string) (*amp.APIKey, error) {
	k, err := s.findKey(ctx, t.AccountID, id)
	if err != nil {
		return nil, err
	}
	if k.Mode != t.Mode {
		return nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
	}
	return k, nil
}

func (s *Service) checkUsageQuery(mode amp.Mode, window time.Duration) error {
	if s.usage == nil {
		return amp.Errorf(amp.CodeNotFound, "This server does not record usage.")
	}
	if mode != "" {
		if err := amp.ValidateMode(mode); err != nil {
			return err
		}
	}
	if window <= 0 || window > MaxUsageWindow {
		return amp.Errorf(amp.CodeInvalidRequest, "A usage window must be positive and at most 366 days.")
	}
	return nil
}

// UsageSelection selects what a usage report covers.
type UsageSelection struct {
	// AccountID is the account reported on. With KeyOrID it restricts the
	// key to this account's (another account's key is NOT_FOUND); it may
	// then be empty, for an operator who names a key only.
	AccountID string
	// Mode is one mode, or "" for both (an account's report only). A key
	// of another mode is NOT_FOUND.
	Mode amp.Mode
	// KeyOrID names one key, in full or by its id; "" for every key.
	KeyOrID string
	// Window is the span reported, ending now.
	Window time.Duration
}

// Usage reports the requests of what sel selects over its window: of one
// key, or of every key of an account. It returns the key reported on, nil
// for an account's report. The dashboard and `amp usage` both read usage
// through it.
func (s *Service) Usage(ctx context.Context, sel UsageSelection) (*UsageReport, *amp.APIKey, error) {
	if err := s.checkUsageQuery(sel.Mode, sel.Window); err != nil {
		return nil, nil, err
	}
	var rep *UsageReport
	var err error
	if sel.KeyOrID != "" {
		k, kerr := s.findKey(ctx, sel.AccountID, sel.KeyOrID)
		if kerr != nil {
			return nil, nil, kerr
		}
		if sel.Mode != "" && k.Mode != sel.Mode {
			return nil, nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
		}
		if rep, err = monitor.KeyReport(ctx, s.usage, k, s.Now(), sel.Window); err != nil {
			return nil, nil, storeError(err, "", "")
		}
		return rep, k, nil
	}
	if _, err := s.Account(ctx, sel.AccountID); err != nil {
		return nil, nil, err
	}
	if rep, err = monitor.AccountReport(ctx, s.usage, sel.AccountID, sel.Mode, s.Now(), sel.Window); err != nil {
		return nil, nil, storeError(err, "", "")
	}
	return rep, nil, nil
}

// CurrentRate is the requests per second of tenant t (one key of it when
// keyID is set) over the last span, from the minute counts.
func (s *Service) CurrentRate(ctx context.Context, t amp.Tenant, keyID string, span time.Duration) (float64, error) {
	if err := s.checkUsageQuery(t.Mode, span); err != nil {
		return 0, err
	}
	if t.Mode == "" {
		return 0, amp.Errorf(amp.CodeInvalidRequest, "mode must be test or live.")
	}
	if keyID != "" {
		if _, err := s.TenantKey(ctx, t, keyID); err != nil {
			return 0, err
		}
	}
	now := s.Now()
	from := amp.GranularityMinute.Truncate(now.Add(-span))
	rows, err := s.usage.Usage(ctx, amp.UsageQuery{
		Granularity: amp.GranularityMinute, AccountID: t.AccountID, KeyID: keyID, Mode: t.Mode, From: from, Dims: amp.DimStart,
	})
	if err != nil {
		return 0, storeError(fmt.Errorf("current rate: %w", err), "", "")
	}
	var n int64
	for _, r := range rows {
		n += r.Requests
	}
	elapsed := now.Sub(from)
	if elapsed <= 0 {
		return 0, nil
	}
	return float64(n) / elapsed.Seconds(), nil
}

// LeakWarnings returns, by key id, the reasons to suspect that a key of
// tenant t leaked (bursts, new countries) over the window ending now; none
// when usage is not recorded.
func (s *Service) LeakWarnings(ctx context.Context, t amp.Tenant, window time.Duration) (map[string][]string, error) {
	if s.usage == nil {
		return nil, nil
	}
	rep, _, err := s.Usage(ctx, UsageSelection{AccountID: t.AccountID, Mode: t.Mode, Window: window})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string)
	for _, ks := range rep.Keys {
		if ks.Flags.SuspectedLeak {
			out[ks.KeyID] = ks.Flags.Reasons
		}
	}
	return out, nil
}
