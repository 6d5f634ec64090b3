package service

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/monitor"
)

// Defaults of EventConfig.
const (
	DefaultRotationAge        = 90 * 24 * time.Hour
	DefaultRateLimitSustained = 10 * time.Minute
	DefaultEventCheckInterval = time.Minute
	DefaultEventRetention     = 40 * 24 * time.Hour
	// ExpiryNotice is how long before a key's expiry key.expiring fires.
	ExpiryNotice = 7 * 24 * time.Hour
)

// QuotaThresholds are the percentages of the monthly live quota at which
// quota.threshold fires, once each per month.
var QuotaThresholds = []int{80, 95, 100}

// EventConfig configures webhook events and leaked-key handling.
type EventConfig struct {
	// RotationAge is the age past which a key is due for rotation
	// (key.rotation_due); DefaultRotationAge when zero.
	RotationAge time.Duration
	// RateLimitSustained is how long a key must be refused for its rate
	// before rate_limit.sustained fires; DefaultRateLimitSustained when 0.
	RateLimitSustained time.Duration
	// CheckInterval is how often Run checks keys, quotas and usage for
	// events; DefaultEventCheckInterval when zero.
	CheckInterval time.Duration
	// Retention is how long a finished event is kept; a periodic event
	// (a key still due for rotation) can fire again once its predecessor
	// is pruned. DefaultEventRetention when zero.
	Retention time.Duration
	// AllowPrivateTargets lets endpoints point at loopback, private and
	// link-local addresses. Off by default: an endpoint URL is a request
	// the server makes on a user's behalf, and must not reach the
	// operator's internal network.
	AllowPrivateTargets bool
	// Usage, when set, lets the checks read metered usage for the leak
	// signals of internal/monitor (burst, new country).
	Usage amp.UsageStore
	// QuotaUsage, when set, returns an account's 2xx live requests in
	// now's month, for quota.threshold.
	QuotaUsage func(ctx context.Context, a *amp.Account, now time.Time) (int64, error)
	// ScannerKeys, when set, verifies secret-scanning alerts; without it
	// the partner endpoint answers NOT_FOUND.
	ScannerKeys ScannerKeys
}

// ScannerKeys resolves a secret scanner's public signing keys by id.
type ScannerKeys interface {
	Key(ctx context.Context, id string) (*ecdsa.PublicKey, error)
}

func (c EventConfig) withDefaults() EventConfig {
	if c.RotationAge <= 0 {
		c.RotationAge = DefaultRotationAge
	}
	if c.RateLimitSustained <= 0 {
		c.RateLimitSustained = DefaultRateLimitSustained
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = DefaultEventCheckInterval
	}
	if c.Retention <= 0 {
		c.Retention = DefaultEventRetention
	}
	return c
}

// eventKey is the form in which an event names a key.
func eventKey(k *amp.APIKey) amp.EventKey {
	return amp.EventKey{ID: k.ID, Name: k.Name, MaskedKey: k.Masked()}
}

// emit records an event of tenant t in the outbox with a delivery to each
// enabled endpoint of t subscribed to its type (only, when only is not
// empty, to that endpoint). It returns the event, or nil if dedupe was
// already used by the account or the store keeps no outbox.
func (s *Service) emit(ctx context.Context, t amp.Tenant, typ amp.EventType, dedupe string, data any, only string) (*amp.WebhookEvent, error) {
	if s.hooks == nil {
		return nil, nil
	}
	memo := t.AccountID + "\x00" + dedupe
	if dedupe != "" && s.emitted.seen(memo, s.Now()) {
		return nil, nil // recorded (or found recorded) lately: spare the store the write
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	now := s.Now()
	id, err := amp.TimeOrderedID(s.random, "evt_", now, 24)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(amp.Event{ID: id, Type: typ, Created: now, AccountID: t.AccountID, Mode: t.Mode, Data: raw})
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	ev := &amp.WebhookEvent{ID: id, AccountID: t.AccountID, Mode: t.Mode, Type: typ, DedupeKey: dedupe, Payload: body, CreatedAt: now}
	eps, err := s.hooks.WebhookEndpoints(ctx, t.AccountID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	var ds []*amp.WebhookDelivery
	for _, ep := range eps {
		if ep.Mode != t.Mode || ep.Disabled || !ep.Subscribes(typ) || (only != "" && ep.ID != only) {
			continue
		}
		did, err := amp.TimeOrderedID(s.random, "whd_", now, 24)
		if err != nil {
			return nil, err
		}
		ds = append(ds, &amp.WebhookDelivery{ID: did, EventID: id, EndpointID: ep.ID, AccountID: t.AccountID, Mode: t.Mode,
			EventType: typ, Status: amp.DeliveryPending, NextAttemptAt: now, CreatedAt: now})
	}
	stored, err := s.hooks.EnqueueEvent(ctx, ev, ds)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	if dedupe != "" {
		s.emitted.add(memo, now)
	}
	if !stored {
		return nil, nil
	}
	s.log.Info("event recorded", "event_id", id, "type", typ, "account_id", t.AccountID, "mode", t.Mode, "deliveries", len(ds))
	return ev, nil
}

// emitLogged is emit for an event that follows a change already made: a
// failure to record it is logged, not returned, since the change stands.
func (s *Service) emitLogged(ctx context.Context, t amp.Tenant, typ amp.EventType, dedupe string, data any) {
	if _, err := s.emit(ctx, t, typ, dedupe, data, ""); err != nil {
		s.log.Error("recording an event failed", "type", typ, "account_id", t.AccountID, "err", err)
	}
}

// CheckEvents raises the events that periodic conditions cause: keys
// expiring within 7 days, keys older than the rotation age, leak signals in
// metered usage, monthly quota thresholds, and sustained rate limiting.
// Each fires once per condition (a dedupe key per account), however many
// instances check. It also prunes finished events past the retention.
func (s *Service) CheckEvents(ctx context.Context) error {
	if s.hooks == nil {
		return nil
	}
	now := s.Now()
	accts, err := s.store.Accounts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range accts {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.checkAccount(ctx, a, now); err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", a.ID, err))
		}
	}
	if _, err := s.hooks.PruneWebhookEvents(ctx, now.Add(-s.events.Retention)); err != nil {
		errs = append(errs, fmt.Errorf("prune events: %w", err))
	}
	return errors.Join(errs...)
}

func (s *Service) checkAccount(ctx context.Context, a *amp.Account, now time.Time) error {
	keys, err := s.store.Keys(ctx, a.ID)
	if err != nil {
		return err
	}
	active := map[string]*amp.APIKey{}
	for _, k := range keys {
		if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
			continue
		}
		active[k.ID] = k
		t := k.Tenant()
		if k.ExpiresAt != nil && k.ExpiresAt.Sub(now) <= ExpiryNotice {
			s.emitLogged(ctx, t, amp.EventKeyExpiring, "key.expiring:"+k.ID+":"+strconv.FormatInt(k.ExpiresAt.Unix(), 10),
				amp.KeyExpiringData{Key: eventKey(k), ExpiresAt: k.ExpiresAt.UTC()})
		}
		if age := now.Sub(k.CreatedAt); age >= s.events.RotationAge {
			s.emitLogged(ctx, t, amp.EventKeyRotationDue, "key.rotation_due:"+k.ID, amp.KeyRotationDueData{
				Key: eventKey(k), CreatedAt: k.CreatedAt.UTC(), AgeDays: int(age / (24 * time.Hour)),
				RotationAgeDays: int(s.events.RotationAge / (24 * time.Hour)),
			})
		}
		if since, ok := s.limited.sustained(k.ID, now, s.events.RateLimitSustained); ok {
			s.emitLogged(ctx, t, amp.EventRateLimitSustained, "rate_limit.sustained:"+k.ID+":"+strconv.FormatInt(since.Unix(), 10),
				amp.RateLimitSustainedData{Key: eventKey(k), LimitedSince: since, Minutes: int(now.Sub(since) / time.Minute)})
		}
	}
	if err := s.checkLeaks(ctx, a, active, now); err != nil {
		return err
	}
	return s.checkQuota(ctx, a, now)
}

// leakWindow is the span of usage each check examines for leak signals.
const leakWindow = time.Hour

func (s *Service) checkLeaks(ctx context.Context, a *amp.Account, active map[string]*amp.APIKey, now time.Time) error {
	if s.events.Usage == nil || len(active) == 0 {
		return nil
	}
	m := &monitor.Monitor{Store: s.events.Usage, Thresholds: monitor.DefaultThresholds}
	r, err := m.AccountReport(ctx, a.ID, "", now, leakWindow)
	if err != nil {
		return err
	}
	for _, ks := range r.Keys {
		k, ok := active[ks.KeyID]
		if !ok || !ks.Flags.SuspectedLeak {
			continue
		}
		t := k.Tenant()
		if b := ks.Flags.Burst; b != nil {
			s.emitLogged(ctx, t, amp.EventKeyLeakSuspected, "key.leak_suspected:burst:"+k.ID+":"+strconv.FormatInt(b.At.Unix(), 10),
				amp.KeyLeakSuspectedData{Key: eventKey(k), Source: amp.LeakBurst, Action: amp.LeakActionNone,
					Reasons: []string{fmt.Sprintf("%d requests in the minute of %s: %.0f× the key's usual %.1f a minute",
						b.Requests, b.At.Format(time.RFC3339), b.Factor, b.Baseline)}})
		}
		for _, nc := range ks.Flags.NewCountries {
			s.emitLogged(ctx, t, amp.EventKeyLeakSuspected, "key.leak_suspected:country:"+k.ID+":"+nc.Country,
				amp.KeyLeakSuspectedData{Key: eventKey(k), Source: amp.LeakNewCountry, Country: nc.Country, Action: amp.LeakActionNone,
					Reasons: []string{fmt.Sprintf("%d requests from %s, a country the key had never used, since %s",
						nc.Requests, nc.Country, nc.FirstSeen.Format(time.RFC3339))}})
		}
	}
	return nil
}

func (s *Service) checkQuota(ctx context.Context, a *amp.Account, now time.Time) error {
	quota := a.Plan.MonthlyQuota()
	if s.events.QuotaUsage == nil || quota <= 0 {
		return nil
	}
	used, err := s.events.QuotaUsage(ctx, a, now)
	if err != nil {
		return err
	}
	month := amp.MonthStart(now).Format("2006-01")
	t := amp.Tenant{AccountID: a.ID, Mode: amp.ModeLive}
	for _, pct := range QuotaThresholds {
		if used*100 >= quota*int64(pct) {
			s.emitLogged(ctx, t, amp.EventQuotaThreshold, "quota.threshold:"+month+":"+strconv.Itoa(pct),
				amp.QuotaThresholdData{Month: month, Threshold: pct, Used: used, Quota: quota})
		}
	}
	return nil
}

// limitedKeys remember, per key, the current stretch of rate-limit
// refusals: when it began and the last refusal. A stretch ends when a
// minute passes without a refusal. Bounded: past max keys, stretches that
// have ended are dropped, then new keys are not tracked.
type limitedKeys struct {
	mu  sync.Mutex
	max int
	m   map[string]*limitStretch
}

type limitStretch struct{ since, last time.Time }

// limitGap is the longest pause between refusals within one stretch.
const limitGap = time.Minute

func newLimitedKeys(max int) *limitedKeys {
	return &limitedKeys{max: max, m: make(map[string]*limitStretch)}
}

func (l *limitedKeys) refused(keyID string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[keyID]
	if st == nil {
		if len(l.m) >= l.max {
			for id, o := range l.m {
				if now.Sub(o.last) > limitGap {
					delete(l.m, id)
				}
			}
			if len(l.m) >= l.max {
				return
			}
		}
		st = &limitStretch{since: now}
		l.m[keyID] = st
	}
	if now.Sub(st.last) > limitGap && !st.last.IsZero() {
		st.since = now
	}
	st.last = now
}

// sustained reports whether the key's current stretch of refusals has
// lasted at least d, and when it began.
func (l *limitedKeys) sustained(keyID string, now time.Time, d time.Duration) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[keyID]
	if st == nil {
		return time.Time{}, false
	}
	if now.Sub(st.last) > limitGap {
		delete(l.m, keyID)
		return time.Time{}, false
	}
	return st.since, st.last.Sub(st.since) >= d
}

// dedupeMemo remembers, for a day, the dedupe keys this process recorded or
// found recorded, so that a condition that lasts (a key past its rotation
// age) costs one store write a day per instance instead of one per check.
// The store's uniqueness stays the rule; the memo only skips writes it
// would refuse. Bounded: when full, it forgets everything.
type dedupeMemo struct {
	mu  sync.Mutex
	max int
	m   map[string]time.Time
}

// dedupeMemoTTL is how long a dedupe key is remembered. It is far shorter
// than the event retention, after which a lasting condition fires again.
const dedupeMemoTTL = 24 * time.Hour

func newDedupeMemo(max int) *dedupeMemo { return &dedupeMemo{max: max, m: make(map[string]time.Time)} }

func (d *dedupeMemo) seen(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.m[key]
	if ok && now.Sub(at) >= dedupeMemoTTL {
		delete(d.m, key)
		return false
	}
	return ok
}

func (d *dedupeMemo) add(key string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		clear(d.m)
	}
	d.m[key] = now
}
