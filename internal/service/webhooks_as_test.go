package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

var managers = []amp.Role{amp.RoleOwner, amp.RoleAdmin, amp.RoleDeveloper}

// hookOpts is a valid endpoint of test mode.
var hookOpts = service.EndpointOptions{URL: "https://hooks.example.com/amp?token=receiver-secret", Description: "ci",
	EventTypes: []amp.EventType{amp.EventKeyQuarantined}}

// newEndpoint adds a test-mode endpoint to the team's account as the
// operator.
func (tm *team) newEndpoint(t *testing.T) *service.CreatedEndpoint {
	t.Helper()
	c, err := tm.svc.CreateWebhookEndpoint(context.Background(), tm.owner.Account().ID, amp.ModeTest, hookOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// failedDelivery sends a test event to a new endpoint and marks its
// delivery failed, as the worker would after the retry window.
func (tm *team) failedDelivery(t *testing.T) *amp.WebhookDelivery {
	t.Helper()
	ctx := context.Background()
	ep := tm.newEndpoint(t)
	if _, err := tm.svc.SendTestEvent(ctx, tm.owner.Account().ID, ep.Endpoint.ID); err != nil {
		t.Fatal(err)
	}
	ds, err := tm.svc.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: tm.owner.Account().ID, EndpointID: ep.Endpoint.ID})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %v %v", ds, err)
	}
	d := ds[0]
	d.Status, d.Attempts, d.LastStatus, d.LastError = amp.DeliveryFailed, 3, 500, "HTTP 500"
	if err := tm.db.SaveDelivery(ctx, d, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

// quarantinedKey creates a test key and quarantines it as a scanner would.
func (tm *team) quarantinedKey(t *testing.T) *amp.APIKey {
	t.Helper()
	ctx := context.Background()
	k, err := tm.svc.CreateKey(ctx, tm.owner.Account().ID, amp.ModeTest, service.KeyOptions{Name: "leaky"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := tm.svc.QuarantineKey(ctx, tm.owner.Account().ID, k.Key.ID, "pasted in a forum")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Every role against every webhook and quarantine action: allowed or
// FORBIDDEN, decided by the service, and each allowed change audited under
// the member's name.
func TestWebhookRolesAllowAndForbid(t *testing.T) {
	ctx := context.Background()
	actions := []roleAction{
		{"list endpoints", amp.Roles, "", func(t *testing.T, tm *team, s *service.Session) error {
			tm.newEndpoint(t)
			eps, err := tm.svc.WebhookEndpointsAs(ctx, s, amp.ModeTest)
			for _, ep := range eps {
				if ep.Secret != "" || ep.PreviousSecret != "" {
					t.Errorf("the list holds a secret for %s", s.Membership.Role)
				}
			}
			return err
		}},
		{"read endpoint", amp.Roles, "", func(t *testing.T, tm *team, s *service.Session) error {
			ep, err := tm.svc.WebhookEndpointAs(ctx, s, amp.ModeTest, tm.newEndpoint(t).Endpoint.ID)
			if err == nil && ep.Secret != "" {
				t.Errorf("the endpoint holds its secret for %s", s.Membership.Role)
			}
			return err
		}},
		{"read delivery log", amp.Roles, "", func(t *testing.T, tm *team, s *service.Session) error {
			tm.failedDelivery(t)
			_, err := tm.svc.WebhookDeliveriesAs(ctx, s, amp.ModeTest, amp.DeliveryQuery{})
			return err
		}},
		{"read delivery", amp.Roles, "", func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.WebhookDeliveryAs(ctx, s, amp.ModeTest, tm.failedDelivery(t).ID)
			return err
		}},
		{"see quarantined keys", amp.Roles, "", func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.QuarantinedKeys(ctx, s, amp.ModeTest)
			return err
		}},
		{"add endpoint", managers, amp.AuditWebhookCreated, func(t *testing.T, tm *team, s *service.Session) error {
			c, err := tm.svc.CreateWebhookEndpointAs(ctx, s, amp.ModeTest, hookOpts)
			if err == nil && (!strings.HasPrefix(c.Secret, "whsec_") || c.Endpoint.Mode != amp.ModeTest) {
				t.Errorf("created endpoint %+v", c)
			}
			return err
		}},
		{"change endpoint", managers, amp.AuditWebhookChanged, func(t *testing.T, tm *team, s *service.Session) error {
			yes := true
			_, err := tm.svc.UpdateWebhookEndpointAs(ctx, s, amp.ModeTest, tm.newEndpoint(t).Endpoint.ID, service.EndpointChange{Disabled: &yes})
			return err
		}},
		{"roll endpoint secret", managers, amp.AuditWebhookSecretRolled, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.RollWebhookSecretAs(ctx, s, amp.ModeTest, tm.newEndpoint(t).Endpoint.ID, time.Hour)
			return err
		}},
		{"send test event", managers, "", func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.SendTestEventAs(ctx, s, amp.ModeTest, tm.newEndpoint(t).Endpoint.ID)
			return err
		}},
		{"replay delivery", managers, amp.AuditDeliveryReplayed, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.ReplayDeliveryAs(ctx, s, amp.ModeTest, tm.failedDelivery(t).ID)
			return err
		}},
		{"remove endpoint", managers, amp.AuditWebhookDeleted, func(t *testing.T, tm *team, s *service.Session) error {
			return tm.svc.DeleteWebhookEndpointAs(ctx, s, amp.ModeTest, tm.newEndpoint(t).Endpoint.ID)
		}},
		{"restore quarantined key", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditKeyRestored, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.RestoreKeyAs(ctx, s, tm.quarantinedKey(t).ID)
			return err
		}},
		{"roll quarantined key", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditKeyRolled, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.RollKeyAs(ctx, s, tm.quarantinedKey(t).ID, 0)
			return err
		}},
	}
	runRoleActions(t, actions)
}

// A session reaches only its account's endpoints and deliveries of the
// mode it asks for; everything else is NOT_FOUND, as a missing id is.
func TestWebhookAsStaysInTenant(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	other := newTeam(t)
	theirs := other.newEndpoint(t)
	d := tm.failedDelivery(t)
	mine := d.EndpointID
	cases := map[string]func() error{
		"another account's endpoint": func() error {
			_, err := tm.svc.WebhookEndpointAs(ctx, tm.owner, amp.ModeTest, theirs.Endpoint.ID)
			return err
		},
		"another account's endpoint, removed": func() error {
			return tm.svc.DeleteWebhookEndpointAs(ctx, tm.owner, amp.ModeTest, theirs.Endpoint.ID)
		},
		"an endpoint of the other mode": func() error {
			_, err := tm.svc.WebhookEndpointAs(ctx, tm.owner, amp.ModeLive, mine)
			return err
		},
		"an endpoint of the other mode, rolled": func() error {
			_, err := tm.svc.RollWebhookSecretAs(ctx, tm.owner, amp.ModeLive, mine, 0)
			return err
		},
		"a delivery of the other mode": func() error {
			_, err := tm.svc.WebhookDeliveryAs(ctx, tm.owner, amp.ModeLive, d.ID)
			return err
		},
		"a delivery of the other mode, replayed": func() error {
			_, err := tm.svc.ReplayDeliveryAs(ctx, tm.owner, amp.ModeLive, d.ID)
			return err
		},
		"another account's delivery log by endpoint": func() error {
			_, err := tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeTest, amp.DeliveryQuery{EndpointID: theirs.Endpoint.ID})
			return err
		},
		"an empty id": func() error {
			_, err := tm.svc.WebhookEndpointAs(ctx, tm.owner, amp.ModeTest, "")
			return err
		},
	}
	for name, f := range cases {
		if code := amp.ErrorCode(f()); code != amp.CodeNotFound {
			t.Errorf("%s: code %q, want NOT_FOUND", name, code)
		}
	}
	// The other mode's log is empty; a page cursor of another mode is
	// refused.
	p, err := tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeLive, amp.DeliveryQuery{})
	if err != nil || len(p.Deliveries) != 0 {
		t.Fatalf("live log: %+v %v", p, err)
	}
	_, err = tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeLive, amp.DeliveryQuery{Before: d.ID})
	wantCode(t, err, amp.CodeInvalidRequest)
	_, err = tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeTest, amp.DeliveryQuery{EventType: "key.nope"})
	wantCode(t, err, amp.CodeInvalidRequest)
}

// The delivery log pages newest first, filters by status and type, and a
// delivery's detail holds the body as sent.
func TestWebhookDeliveryPages(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	ep := tm.newEndpoint(t)
	var sent []string
	for range 5 {
		tm.clock.Advance(time.Second)
		ev, err := tm.svc.SendTestEventAs(ctx, tm.owner, amp.ModeTest, ep.Endpoint.ID)
		if err != nil {
			t.Fatal(err)
		}
		sent = append([]string{ev.ID}, sent...)
	}
	var got []string
	q := amp.DeliveryQuery{Limit: 2}
	for range 5 {
		p, err := tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeTest, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Deliveries {
			got = append(got, d.EventID)
		}
		if p.Next == "" {
			break
		}
		if len(p.Deliveries) != 2 || p.Next != p.Deliveries[1].ID {
			t.Fatalf("a page of 2 with a next page: %+v", p)
		}
		q.Before = p.Next
	}
	if !slices.Equal(got, sent) {
		t.Fatalf("pages visited %v, want %v", got, sent)
	}
	for _, c := range []struct {
		q    amp.DeliveryQuery
		want int
	}{
		{amp.DeliveryQuery{Status: amp.DeliveryPending}, 5},
		{amp.DeliveryQuery{Status: amp.DeliveryFailed}, 0},
		{amp.DeliveryQuery{EventType: amp.EventWebhookTest}, 5},
		{amp.DeliveryQuery{EventType: amp.EventKeyQuarantined}, 0},
		{amp.DeliveryQuery{EndpointID: ep.Endpoint.ID}, 5},
	} {
		p, err := tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeTest, c.q)
		if err != nil || len(p.Deliveries) != c.want || p.Next != "" {
			t.Errorf("%+v: %d deliveries (next %q), %v; want %d", c.q, len(p.Deliveries), p.Next, err, c.want)
		}
	}
	p, _ := tm.svc.WebhookDeliveriesAs(ctx, tm.owner, amp.ModeTest, amp.DeliveryQuery{})
	det, err := tm.svc.WebhookDeliveryAs(ctx, tm.owner, amp.ModeTest, p.Deliveries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if det.Event.ID != sent[0] || !strings.Contains(string(det.Event.Payload), `"type":"webhook.test"`) ||
		!strings.Contains(string(det.Event.Payload), sent[0]) {
		t.Fatalf("delivery detail: event %s, body %s", det.Event.ID, det.Event.Payload)
	}
}

// A quarantined key is listed for the banner with where a scanner found
// it; restoring it clears that, and both steps are in the audit log.
func TestQuarantinedKeysBanner(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	k := tm.quarantinedKey(t)
	if e := tm.lastAudit(t); e == nil || e.Action != amp.AuditKeyQuarantined || !strings.Contains(e.Target, k.ID) || e.Detail != "pasted in a forum" {
		t.Fatalf("quarantine audit entry: %+v", e)
	}
	tm.clock.Advance(time.Minute)
	k2 := tm.quarantinedKey(t)
	qs, err := tm.svc.QuarantinedKeys(ctx, tm.owner, amp.ModeTest)
	if err != nil || len(qs) != 2 || qs[0].ID != k2.ID || qs[1].ID != k.ID {
		t.Fatalf("quarantined keys, newest first: %v %v", qs, err)
	}
	if live, _ := tm.svc.QuarantinedKeys(ctx, tm.owner, amp.ModeLive); len(live) != 0 {
		t.Fatalf("live mode shows test keys: %v", live)
	}
	// Rolled: the new key works, the old one stays quarantined until it
	// is restored or its grace ends.
	rolled, err := tm.svc.RollKeyAs(ctx, tm.owner, k2.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rolled.Key.Quarantined() {
		t.Fatal("the new key of a quarantined one is quarantined")
	}
	if _, err := tm.svc.Authenticate(ctx, rolled.Secret, "192.0.2.9"); err != nil {
		t.Fatalf("the rolled key is refused: %v", err)
	}
	if _, err := tm.svc.RestoreKeyAs(ctx, tm.owner, k.ID); err != nil {
		t.Fatal(err)
	}
	if e := tm.lastAudit(t); e == nil || e.Action != amp.AuditKeyRestored || e.ActorEmail != tm.owner.User.Email {
		t.Fatalf("restore audit entry: %+v", e)
	}
	qs, _ = tm.svc.QuarantinedKeys(ctx, tm.owner, amp.ModeTest)
	if len(qs) != 1 || qs[0].ID != k2.ID {
		t.Fatalf("after restoring one: %v", qs)
	}
	// A revoked key leaves the banner.
	if _, err := tm.svc.RevokeKeyAs(ctx, tm.owner, k2.ID); err != nil {
		t.Fatal(err)
	}
	if qs, _ = tm.svc.QuarantinedKeys(ctx, tm.owner, amp.ModeTest); len(qs) != 0 {
		t.Fatalf("a revoked key is in the banner: %v", qs)
	}
	// A quarantined key past its grace can no longer be rolled.
	k3 := tm.quarantinedKey(t)
	if _, err := tm.svc.RollKeyAs(ctx, tm.owner, k3.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.RollKeyAs(ctx, tm.owner, k3.ID, 0)
	wantCode(t, err, amp.CodeInvalidRequest)
}

// The rotation rule the dashboard marks keys by is key.rotation_due's.
func TestRotationDue(t *testing.T) {
	tm := newTeam(t)
	k, err := tm.svc.CreateKey(context.Background(), tm.owner.Account().ID, amp.ModeTest, service.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := k.Key.CreatedAt
	if tm.svc.RotationAge() != service.DefaultRotationAge {
		t.Fatalf("rotation age %v", tm.svc.RotationAge())
	}
	if tm.svc.RotationDue(k.Key, now.Add(service.DefaultRotationAge-time.Second)) {
		t.Fatal("due before the age")
	}
	if !tm.svc.RotationDue(k.Key, now.Add(service.DefaultRotationAge)) {
		t.Fatal("not due at the age")
	}
	revoked := *k.Key
	revoked.RevokedAt = &now
	if tm.svc.RotationDue(&revoked, now.Add(service.DefaultRotationAge)) {
		t.Fatal("a revoked key is due for rotation")
	}
}
