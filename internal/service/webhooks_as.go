package service

import (
	"context"
	"crypto/subtle"
	"slices"
	"time"

	"github.com/amp-protocol/amp"
)

// The webhook and quarantine operations of a dashboard user, each checked
// against the session's role and done on the session's account in one
// mode. They apply the rules of the operator's operations (the CLI's),
// which they call, so that both front ends share them:
//
//   - every member reads the endpoints (without secrets) and the delivery
//     log (amp.PermRead);
//   - developers and above add, change, disable, remove endpoints, roll
//     their secrets, send test events and replay deliveries
//     (amp.PermWebhooks): endpoints are integration plumbing, like keys;
//   - admins and above restore or roll a quarantined key
//     (amp.PermQuarantine): judging a leak harmless is not a developer's
//     call alone.
//
// A signing secret leaves the service only in a CreatedEndpoint, once.

// MaxDeliveryPage bounds one page of the dashboard's delivery log.
const MaxDeliveryPage = 100

// withoutSecrets returns a copy of ep that holds no secret.
func withoutSecrets(ep *amp.WebhookEndpoint) *amp.WebhookEndpoint {
	c := *ep
	c.Secret, c.PreviousSecret = "", ""
	return &c
}

// tenantEndpoint returns the endpoint id of the session's account in mode;
// an endpoint of another account or mode is NOT_FOUND, as a missing one.
func (s *Service) tenantEndpoint(ctx context.Context, sess *Session, mode amp.Mode, id string) (*amp.WebhookEndpoint, error) {
	if id == "" {
		return nil, amp.Errorf(amp.CodeNotFound, "No such webhook endpoint.")
	}
	ep, err := s.WebhookEndpoint(ctx, sess.Account().ID, id)
	if err != nil {
		return nil, err
	}
	if ep.Mode != mode {
		return nil, amp.Errorf(amp.CodeNotFound, "No such webhook endpoint.")
	}
	return ep, nil
}

// WebhookEndpointsAs lists the endpoints of the session's account in mode,
// oldest first, without their secrets: any member.
func (s *Service) WebhookEndpointsAs(ctx context.Context, sess *Session, mode amp.Mode) ([]*amp.WebhookEndpoint, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	eps, err := s.WebhookEndpoints(ctx, sess.Account().ID)
	if err != nil {
		return nil, err
	}
	out := make([]*amp.WebhookEndpoint, 0, len(eps))
	for _, ep := range eps {
		if ep.Mode == mode {
			out = append(out, withoutSecrets(ep))
		}
	}
	return out, nil
}

// EndpointSecretIs reports whether secret is the current signing secret of
// an endpoint of the session's account in mode, compared in constant time:
// the page that shows a new secret once checks what it was handed.
func (s *Service) EndpointSecretIs(ctx context.Context, sess *Session, mode amp.Mode, id, secret string) (bool, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return false, err
	}
	ep, err := s.tenantEndpoint(ctx, sess, mode, id)
	if err != nil {
		return false, err
	}
	return secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(ep.Secret)) == 1, nil
}

// WebhookEndpointAs returns one endpoint of the session's account in mode,
// without its secrets: any member.
func (s *Service) WebhookEndpointAs(ctx context.Context, sess *Session, mode amp.Mode, id string) (*amp.WebhookEndpoint, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	ep, err := s.tenantEndpoint(ctx, sess, mode, id)
	if err != nil {
		return nil, err
	}
	return withoutSecrets(ep), nil
}

// CreateWebhookEndpointAs adds an endpoint to the session's account in
// mode: developer or above. The secret is in the result, once.
func (s *Service) CreateWebhookEndpointAs(ctx context.Context, sess *Session, mode amp.Mode, opts EndpointOptions) (*CreatedEndpoint, error) {
	if err := s.Allow(sess, amp.PermWebhooks); err != nil {
		return nil, err
	}
	return s.CreateWebhookEndpoint(sess.actor(ctx), sess.Account().ID, mode, opts)
}

// UpdateWebhookEndpointAs changes an endpoint of the session's account in
// mode: developer or above.
func (s *Service) UpdateWebhookEndpointAs(ctx context.Context, sess *Session, mode amp.Mode, id string, c EndpointChange) (*amp.WebhookEndpoint, error) {
	if err := s.Allow(sess, amp.PermWebhooks); err != nil {
		return nil, err
	}
	if _, err := s.tenantEndpoint(ctx, sess, mode, id); err != nil {
		return nil, err
	}
	ep, err := s.UpdateWebhookEndpoint(sess.actor(ctx), sess.Account().ID, id, c)
	if err != nil {
		return nil, err
	}
	return withoutSecrets(ep), nil
}

// DeleteWebhookEndpointAs removes an endpoint of the session's account in
// mode, with its deliveries: developer or above.
func (s *Service) DeleteWebhookEndpointAs(ctx context.Context, sess *Session, mode amp.Mode, id string) error {
	if err := s.Allow(sess, amp.PermWebhooks); err != nil {
		return err
	}
	if _, err := s.tenantEndpoint(ctx, sess, mode, id); err != nil {
		return err
	}
	return s.DeleteWebhookEndpoint(sess.actor(ctx), sess.Account().ID, id)
}

// RollWebhookSecretAs gives an endpoint of the session's account in mode a
// new secret, in the result once; the old one signs too for grace:
// developer or above.
func (s *Service) RollWebhookSecretAs(ctx context.Context, sess *Session, mode amp.Mode, id string, grace time.Duration) (*CreatedEndpoint, error) {
	if err := s.Allow(sess, amp.PermWebhooks); err != nil {
		return nil, err
	}
	if _, err := s.tenantEndpoint(ctx, sess, mode, id); err != nil {
		return nil, err
	}
	return s.RollWebhookSecret(sess.actor(ctx), sess.Account().ID, id, grace)
}

// SendTestEventAs sends a webhook.test event to an endpoint of the
// session's account in mode: developer or above.
func (s *Service) SendTestEventAs(ctx context.Context, sess *Session, mode amp.Mode, id string) (*amp.WebhookEvent, error) {
	if err := s.Allow(sess, amp.PermWebhooks); err != nil {
		return nil, err
	}
	if _, err := s.tenantEndpoint(ctx, sess, mode, id); err != nil {
		return nil, err
	}
	return s.SendTestEvent(ctx, sess.Account().ID, id)
}

// DeliveryPage is one page of a delivery log, newest first.
type DeliveryPage struct {
	Deliveries []*amp.WebhookDelivery
	// Next is the cursor of the following page (DeliveryQuery.Before), ""
	// on the last page.
	Next string
}

// WebhookDeliveriesAs returns a page of the delivery log of the session's
// account in mode: any member. q's account and mode are the session's;
// q.Before must be a delivery of theirs; q.Limit is capped at
// MaxDeliveryPage (0 means that).
func (s *Service) WebhookDeliveriesAs(ctx context.Context, sess *Session, mode amp.Mode, q amp.DeliveryQuery) (*DeliveryPage, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	q.AccountID, q.Mode = sess.Account().ID, mode
	if q.EndpointID != "" {
		if _, err := s.tenantEndpoint(ctx, sess, mode, q.EndpointID); err != nil {
			return nil, err
		}
	}
	if q.Before != "" {
		d, _, err := s.WebhookDelivery(ctx, q.AccountID, q.Before)
		if err != nil || d.Mode != mode {
			return nil, amp.Errorf(amp.CodeInvalidRequest, "This page of the delivery log no longer exists; start from the first page.")
		}
	}
	if q.Limit <= 0 || q.Limit > MaxDeliveryPage {
		q.Limit = MaxDeliveryPage
	}
	limit := q.Limit
	q.Limit++ // one more tells whether a next page exists
	ds, err := s.WebhookDeliveries(ctx, q)
	if err != nil {
		return nil, err
	}
	p := &DeliveryPage{Deliveries: ds}
	if len(ds) > limit {
		p.Deliveries = ds[:limit]
		p.Next = ds[limit-1].ID
	}
	return p, nil
}

// DeliveryDetail is one delivery with its event's body, as sent, and its
// log.
type DeliveryDetail struct {
	Delivery *amp.WebhookDelivery
	Event    *amp.WebhookEvent
	Attempts []*amp.DeliveryAttempt
}

// WebhookDeliveryAs returns a delivery of the session's account in mode:
// any member. The event's body holds no secret (events name keys by id
// and mask), so viewers may read it.
func (s *Service) WebhookDeliveryAs(ctx context.Context, sess *Session, mode amp.Mode, id string) (*DeliveryDetail, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	d, log, err := s.WebhookDelivery(ctx, sess.Account().ID, id)
	if err != nil {
		return nil, err
	}
	if d.Mode != mode {
		return nil, amp.Errorf(amp.CodeNotFound, "No such delivery.")
	}
	ev, err := s.hooks.WebhookEvent(ctx, d.EventID)
	if err != nil {
		return nil, storeError(err, amp.CodeNotFound, "No such delivery.")
	}
	return &DeliveryDetail{Delivery: d, Event: ev, Attempts: log}, nil
}

// ReplayDeliveryAs sends a finished delivery of the session's account in
// mode again: developer or above.
func (s *Service) ReplayDeliveryAs(ctx context.Context, sess *Session, mode amp.Mode, id string) (*amp.WebhookDelivery, error) {
	if err := s.Allow(sess, amp.PermWebhooks); err != nil {
		return nil, err
	}
	d, _, err := s.WebhookDelivery(ctx, sess.Account().ID, id)
	if err != nil {
		return nil, err
	}
	if d.Mode != mode {
		return nil, amp.Errorf(amp.CodeNotFound, "No such delivery.")
	}
	return s.ReplayDelivery(sess.actor(ctx), sess.Account().ID, id)
}

// QuarantinedKeys returns the quarantined keys of the session's account in
// mode, neither revoked nor expired, most recently quarantined first: any member (every
// page shows them in a banner).
func (s *Service) QuarantinedKeys(ctx context.Context, sess *Session, mode amp.Mode) ([]*amp.APIKey, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	keys, err := s.store.Keys(ctx, sess.Account().ID)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	var out []*amp.APIKey
	now := s.Now()
	for _, k := range keys {
		// A quarantined key that expired (rolled, its grace over) or was
		// revoked can do no more harm.
		if k.Mode == mode && heldInQuarantine(k, now) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b *amp.APIKey) int { return b.QuarantinedAt.Compare(*a.QuarantinedAt) })
	return out, nil
}

// RestoreKeyAs lifts the quarantine of a key of the session's account:
// admin or above. It is audited under the user's name.
func (s *Service) RestoreKeyAs(ctx context.Context, sess *Session, keyID string) (*amp.APIKey, error) {
	if err := s.Allow(sess, amp.PermQuarantine); err != nil {
		return nil, err
	}
	if keyID == "" {
		return nil, amp.Errorf(amp.CodeNotFound, "No such API key.")
	}
	return s.RestoreKey(sess.actor(ctx), sess.Account().ID, keyID)
}

// RotationDue reports whether k is due for rotation at now: usable and
// older than the rotation age (EventConfig.RotationAge), the condition of
// key.rotation_due.
func (s *Service) RotationDue(k *amp.APIKey, now time.Time) bool {
	return k.Status(now).Usable() && now.Sub(k.CreatedAt) >= s.events.RotationAge
}

// RotationAge is the age past which a key is due for rotation.
func (s *Service) RotationAge() time.Duration { return s.events.RotationAge }
