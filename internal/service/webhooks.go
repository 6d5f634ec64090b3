package service

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/webhook"
)

// Bounds of webhook administration input.
const (
	MaxEndpointsPerAccount    = 16
	MaxEndpointDescription    = 200
	MaxWebhookSecretRollGrace = 7 * 24 * time.Hour
	webhookSecretChars        = 32 // base62: about 190 bits
)

// EndpointOptions are the settings of a new webhook endpoint.
type EndpointOptions struct {
	URL         string
	Description string
	EventTypes  []amp.EventType // at least one
}

// EndpointChange changes an endpoint; nil fields stay as they are.
type EndpointChange struct {
	URL         *string
	Description *string
	EventTypes  []amp.EventType
	Disabled    *bool
}

// CreatedEndpoint is a new endpoint with its signing secret, shown once.
type CreatedEndpoint struct {
	Secret   string
	Endpoint *amp.WebhookEndpoint
}

func (s *Service) webhookStore() (amp.WebhookStore, error) {
	if s.hooks == nil {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "This server's store keeps no webhooks.")
	}
	return s.hooks, nil
}

func (s *Service) checkEndpointURL(raw string, mode amp.Mode) error {
	if _, err := webhook.CheckURL(raw, mode == amp.ModeLive, s.events.AllowPrivateTargets); err != nil {
		return amp.Errorf(amp.CodeInvalidRequest, "Invalid endpoint URL: %v.", err)
	}
	return nil
}

func checkDescription(d string) error {
	if len(d) > MaxEndpointDescription || !utf8.ValidString(d) || strings.ContainsRune(d, 0) {
		return amp.Errorf(amp.CodeInvalidRequest, "A description must be UTF-8 text of at most %d bytes.", MaxEndpointDescription)
	}
	return nil
}

// checkEventTypes validates and normalises (sorts, dedupes) event types.
func checkEventTypes(ts []amp.EventType) ([]amp.EventType, error) {
	if len(ts) == 0 {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "Choose at least one event type: %s.", eventTypeList())
	}
	for _, t := range ts {
		if !t.Valid() {
			return nil, amp.Errorf(amp.CodeInvalidRequest, "Unknown event type %q; the types are %s.", t, eventTypeList())
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ts))), nil
}

func eventTypeList() string {
	s := make([]string, len(amp.EventTypes))
	for i, t := range amp.EventTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// endpointTarget names an endpoint in the audit log: its id, mode and host
// (not its full URL, whose path or query may hold the receiver's token).
func endpointTarget(ep *amp.WebhookEndpoint) string {
	host := ep.URL
	if u, err := url.Parse(ep.URL); err == nil {
		host = u.Host
	}
	return fmt.Sprintf("%s (%s, %s)", ep.ID, ep.Mode, host)
}

func endpointDetail(ep *amp.WebhookEndpoint) string {
	types := make([]string, len(ep.EventTypes))
	for i, t := range ep.EventTypes {
		types[i] = string(t)
	}
	d := "events " + strings.Join(types, ", ")
	if ep.Disabled {
		d += ", disabled"
	}
	return d
}

func (s *Service) newWebhookSecret() (string, error) {
	return amp.RandomID(s.random, "whsec_", webhookSecretChars)
}

// CreateWebhookEndpoint adds an endpoint that receives the account's events
// of mode and of the chosen types. A live-mode endpoint must use https;
// by default the URL must not name a private, loopback or link-local
// address (EventConfig.AllowPrivateTargets).
func (s *Service) CreateWebhookEndpoint(ctx context.Context, accountID string, mode amp.Mode, opts EndpointOptions) (*CreatedEndpoint, error) {
	hooks, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	if !mode.Valid() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "mode must be test or live.")
	}
	if err := s.checkEndpointURL(opts.URL, mode); err != nil {
		return nil, err
	}
	if err := checkDescription(opts.Description); err != nil {
		return nil, err
	}
	types, err := checkEventTypes(opts.EventTypes)
	if err != nil {
		return nil, err
	}
	if _, err := s.Account(ctx, accountID); err != nil {
		return nil, err
	}
	existing, err := hooks.WebhookEndpoints(ctx, accountID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	if len(existing) >= MaxEndpointsPerAccount {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "An account has at most %d webhook endpoints.", MaxEndpointsPerAccount)
	}
	secret, err := s.newWebhookSecret()
	if err != nil {
		return nil, err
	}
	id, err := amp.RandomID(s.random, "we_", 16)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	ep := &amp.WebhookEndpoint{ID: id, AccountID: accountID, Mode: mode, URL: opts.URL, Description: opts.Description,
		EventTypes: types, Secret: secret, CreatedAt: now, UpdatedAt: now}
	if err := hooks.CreateWebhookEndpoint(ctx, ep); err != nil {
		return nil, storeError(fmt.Errorf("create webhook endpoint: %w", err), "", "")
	}
	s.log.Info("webhook endpoint created", "endpoint_id", id, "account_id", accountID, "mode", mode)
	s.audit(ctx, accountID, amp.AuditWebhookCreated, endpointTarget(ep), endpointDetail(ep))
	return &CreatedEndpoint{Secret: secret, Endpoint: ep}, nil
}

// WebhookEndpoints lists the account's endpoints, oldest first.
func (s *Service) WebhookEndpoints(ctx context.Context, accountID string) ([]*amp.WebhookEndpoint, error) {
	hooks, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	eps, err := hooks.WebhookEndpoints(ctx, accountID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	return eps, nil
}

// WebhookEndpoint returns one endpoint; accountID, when set, restricts the
// lookup to that account.
func (s *Service) WebhookEndpoint(ctx context.Context, accountID, id string) (*amp.WebhookEndpoint, error) {
	hooks, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	ep, err := hooks.WebhookEndpoint(ctx, id)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such webhook endpoint.")
	}
	if accountID != "" && ep.AccountID != accountID {
		return nil, amp.Errorf(amp.CodeNotFound, "No such webhook endpoint.")
	}
	return ep, nil
}

// UpdateWebhookEndpoint applies a change to an endpoint.
func (s *Service) UpdateWebhookEndpoint(ctx context.Context, accountID, id string, c EndpointChange) (*amp.WebhookEndpoint, error) {
	ep, err := s.WebhookEndpoint(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if c.URL != nil {
		if err := s.checkEndpointURL(*c.URL, ep.Mode); err != nil {
			return nil, err
		}
		ep.URL = *c.URL
	}
	if c.Description != nil {
		if err := checkDescription(*c.Description); err != nil {
			return nil, err
		}
		ep.Description = *c.Description
	}
	if c.EventTypes != nil {
		if ep.EventTypes, err = checkEventTypes(c.EventTypes); err != nil {
			return nil, err
		}
	}
	if c.Disabled != nil {
		ep.Disabled = *c.Disabled
	}
	ep.UpdatedAt = s.Now()
	if err := s.hooks.UpdateWebhookEndpoint(ctx, ep); err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such webhook endpoint.")
	}
	s.audit(ctx, ep.AccountID, amp.AuditWebhookChanged, endpointTarget(ep), endpointDetail(ep))
	return ep, nil
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, accountID, id string) error {
	ep, err := s.WebhookEndpoint(ctx, accountID, id)
	if err != nil {
		return err
	}
	if err := s.hooks.DeleteWebhookEndpoint(ctx, ep.ID); err != nil {
		return storeError(err, amp.CodeNotFound, "No such webhook endpoint.")
	}
	s.log.Info("webhook endpoint deleted", "endpoint_id", ep.ID, "account_id", ep.AccountID)
	s.audit(ctx, ep.AccountID, amp.AuditWebhookDeleted, endpointTarget(ep), "")
	return nil
}

// RollWebhookSecret gives an endpoint a new signing secret, returned once.
// For grace (at most 7 days; 0 ends the old secret now) deliveries are
// signed with both, so that the receiver can switch without a gap.
func (s *Service) RollWebhookSecret(ctx context.Context, accountID, id string, grace time.Duration) (*CreatedEndpoint, error) {
	if grace < 0 || grace > MaxWebhookSecretRollGrace {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The grace period must be between 0 and 7 days.")
	}
	ep, err := s.WebhookEndpoint(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	secret, err := s.newWebhookSecret()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	ep.PreviousSecret, ep.PreviousSecretExpiresAt = "", nil
	if grace > 0 {
		end := now.Add(grace)
		ep.PreviousSecret, ep.PreviousSecretExpiresAt = ep.Secret, &end
	}
	ep.Secret, ep.UpdatedAt = secret, now
	if err := s.hooks.UpdateWebhookEndpoint(ctx, ep); err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such webhook endpoint.")
	}
	s.log.Info("webhook secret rolled", "endpoint_id", ep.ID, "grace", grace.String())
	s.audit(ctx, ep.AccountID, amp.AuditWebhookSecretRolled, endpointTarget(ep), "old secret valid for "+grace.String())
	return &CreatedEndpoint{Secret: secret, Endpoint: ep}, nil
}

// SendTestEvent records a webhook.test event delivered to the one
// endpoint, whatever types it subscribes to, and returns it.
func (s *Service) SendTestEvent(ctx context.Context, accountID, id string) (*amp.WebhookEvent, error) {
	ep, err := s.WebhookEndpoint(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if ep.Disabled {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The endpoint is disabled; enable it first.")
	}
	return s.emit(ctx, amp.Tenant{AccountID: ep.AccountID, Mode: ep.Mode}, amp.EventWebhookTest, "",
		amp.WebhookTestData{EndpointID: ep.ID, Message: "A test event from AMP. Verify its AMP-Signature, then answer 2xx."}, ep.ID)
}

// WebhookDeliveries returns the account's deliveries q selects, newest
// first.
func (s *Service) WebhookDeliveries(ctx context.Context, q amp.DeliveryQuery) ([]*amp.WebhookDelivery, error) {
	hooks, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	if q.Status != "" && !q.Status.Valid() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "status must be pending, succeeded or failed.")
	}
	if q.Mode != "" && !q.Mode.Valid() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "mode must be test or live.")
	}
	if q.EventType != "" && !q.EventType.Valid() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "Unknown event type %q; the types are %s.", q.EventType, eventTypeList())
	}
	ds, err := hooks.WebhookDeliveries(ctx, q)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	return ds, nil
}

// WebhookDelivery returns a delivery of the account (any account when
// accountID is "") and its log.
func (s *Service) WebhookDelivery(ctx context.Context, accountID, id string) (*amp.WebhookDelivery, []*amp.DeliveryAttempt, error) {
	hooks, err := s.webhookStore()
	if err != nil {
		return nil, nil, err
	}
	d, err := hooks.WebhookDelivery(ctx, id)
	if err != nil {
		return nil, nil, storeError(err, amp.CodeNotFound, "No such delivery.")
	}
	if accountID != "" && d.AccountID != accountID {
		return nil, nil, amp.Errorf(amp.CodeNotFound, "No such delivery.")
	}
	log, err := hooks.DeliveryAttempts(ctx, id)
	if err != nil {
		return nil, nil, storeError(err, "", "")
	}
	return d, log, nil
}

// ReplayDelivery sends a finished delivery again at once, with its event's
// original id and body. A replay that fails is retried like any delivery
// while the event is younger than the retry window, and is failed again
// after one attempt otherwise.
func (s *Service) ReplayDelivery(ctx context.Context, accountID, id string) (*amp.WebhookDelivery, error) {
	d, _, err := s.WebhookDelivery(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if d.Status == amp.DeliveryPending {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The delivery is still pending; it will be attempted at %s.", d.NextAttemptAt.Format(time.RFC3339))
	}
	d.Status, d.NextAttemptAt = amp.DeliveryPending, s.Now()
	if err := s.hooks.SaveDelivery(ctx, d, nil); err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such delivery.")
	}
	s.log.Info("webhook delivery replayed", "delivery_id", d.ID, "account_id", d.AccountID)
	s.audit(ctx, d.AccountID, amp.AuditDeliveryReplayed, d.ID, string(d.EventType)+" "+d.EventID+" to "+d.EndpointID)
	return d, nil
}
