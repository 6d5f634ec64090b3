package amp

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// EventType names a webhook event. The catalogue, with each payload's
// schema, is in docs/webhooks.md and in the OpenAPI document's "webhooks".
type EventType string

const (
	EventKeyLeakSuspected   EventType = "key.leak_suspected"
	EventKeyQuarantined     EventType = "key.quarantined"
	EventKeyExpiring        EventType = "key.expiring"
	EventKeyRotationDue     EventType = "key.rotation_due"
	EventQuotaThreshold     EventType = "quota.threshold"
	EventRateLimitSustained EventType = "rate_limit.sustained"
	EventProfileDeleted     EventType = "profile.deleted"
	EventWebhookTest        EventType = "webhook.test"
)

// EventTypes lists every event type an endpoint can subscribe to.
var EventTypes = []EventType{
	EventKeyLeakSuspected, EventKeyQuarantined, EventKeyExpiring, EventKeyRotationDue,
	EventQuotaThreshold, EventRateLimitSustained, EventProfileDeleted, EventWebhookTest,
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// The audited actions on webhook endpoints and quarantined keys (the
// others are declared with AuditAction).
const (
	AuditWebhookCreated      AuditAction = "webhook.created"
	AuditWebhookChanged      AuditAction = "webhook.changed"
	AuditWebhookDeleted      AuditAction = "webhook.deleted"
	AuditWebhookSecretRolled AuditAction = "webhook.secret_rolled"
	AuditDeliveryReplayed    AuditAction = "webhook.delivery_replayed"
	AuditKeyQuarantined      AuditAction = "key.quarantined"
	AuditKeyRestored         AuditAction = "key.restored"
)

// WebhookEndpoint is a URL that receives an account's events of one mode.
//
// Secret is stored as is, not hashed: signing a delivery needs the secret
// itself (an HMAC cannot be computed from a hash of its key). It is shown
// to the owner once, when created or rolled, and never logged; the database
// and its backups must therefore be protected like the secrets they hold
// (docs/webhooks.md).
type WebhookEndpoint struct {
	ID          string
	AccountID   string
	Mode        Mode
	URL         string
	Description string
	EventTypes  []EventType // the types it receives, sorted
	Secret      string      // "whsec_…": signs every delivery
	// PreviousSecret, until PreviousSecretExpiresAt, also signs deliveries,
	// so that a receiver can switch to a rolled secret without a gap.
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	Disabled                bool
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// Subscribes reports whether the endpoint receives events of type t. The
// test event reaches every endpoint it is sent to.
func (e *WebhookEndpoint) Subscribes(t EventType) bool {
	return t == EventWebhookTest || slices.Contains(e.EventTypes, t)
}

// SigningSecrets returns the secrets valid at now: the current one, then
// the previous one during a roll's grace period.
func (e *WebhookEndpoint) SigningSecrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		out = append(out, e.PreviousSecret)
	}
	return out
}

// WebhookEvent is one event of an account's mode, stored in the outbox.
// Payload is the exact JSON body every delivery of it sends and signs.
type WebhookEvent struct {
	ID        string // "evt_…": receivers deduplicate by it
	AccountID string
	Mode      Mode
	Type      EventType
	// DedupeKey, when set, is unique per account: an event whose key was
	// already stored is not stored again. It makes periodic checks (a key
	// expiring, a quota threshold) fire once across restarts and instances.
	DedupeKey string
	Payload   json.RawMessage
	CreatedAt time.Time
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"   // to be attempted at NextAttemptAt
	DeliverySucceeded DeliveryStatus = "succeeded" // a 2xx answer was received
	DeliveryFailed    DeliveryStatus = "failed"    // retries were exhausted; it can be replayed
)

// Valid reports whether s is a known delivery status.
func (s DeliveryStatus) Valid() bool {
	return s == DeliveryPending || s == DeliverySucceeded || s == DeliveryFailed
}

// WebhookDelivery is one event's delivery to one endpoint, and its state.
type WebhookDelivery struct {
	ID            string // "whd_…"
	EventID       string
	EndpointID    string
	AccountID     string
	Mode          Mode
	EventType     EventType
	Status        DeliveryStatus
	Attempts      int       // attempts made so far
	NextAttemptAt time.Time // when a pending delivery is due (or its claim ends)
	LastAttemptAt *time.Time
	LastStatus    int           // the HTTP status of the last attempt; 0 if none came back
	LastLatency   time.Duration // of the last attempt
	LastError     string        // why the last attempt failed; "" on success
	CreatedAt     time.Time
}

// DeliveryAttempt is one entry of a delivery's log.
type DeliveryAttempt struct {
	DeliveryID string
	Attempt    int // 1 for the first
	At         time.Time
	Status     int // HTTP status; 0 when no answer came back
	Latency    time.Duration
	Error      string // "" on success
}

// DueDelivery is a claimed delivery with what sending it needs.
type DueDelivery struct {
	Delivery *WebhookDelivery
	Event    *WebhookEvent
	Endpoint *WebhookEndpoint
}

// DeliveryQuery selects deliveries of one account, newest first.
type DeliveryQuery struct {
	AccountID  string         // required
	Mode       Mode           // "" for both modes
	EndpointID string         // "" for every endpoint
	Status     DeliveryStatus // "" for every status
	EventType  EventType      // "" for every type
	// Before, when set, is a delivery id: only the deliveries after it in
	// the newest-first order are returned (the next page of a log whose
	// last row was Before). An id that does not exist selects nothing.
	Before string
	Limit  int // at most this many; backends cap it at 1000
}

// WebhookStore persists webhook endpoints and the outbox of events and
// deliveries. Backends that implement it pass storetest.RunWebhooks. It
// holds no rules: the service decides which endpoints receive an event,
// and the delivery worker when a delivery is retried.
type WebhookStore interface {
	// CreateWebhookEndpoint stores e; ErrConflict if its id exists,
	// ErrNotFound if its account does not.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// WebhookEndpoint returns an endpoint by id, or ErrNotFound.
	WebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// WebhookEndpoints returns the account's endpoints of both modes,
	// oldest first.
	WebhookEndpoints(ctx context.Context, accountID string) ([]*WebhookEndpoint, error)
	// UpdateWebhookEndpoint stores e's URL, description, event types,
	// secrets, disabled flag and UpdatedAt; ErrNotFound if it does not exist.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// DeleteWebhookEndpoint removes an endpoint with its deliveries and
	// their log; ErrNotFound if it does not exist.
	DeleteWebhookEndpoint(ctx context.Context, id string) error

	// EnqueueEvent durably stores ev and its deliveries in one transaction,
	// and returns only once they are durable. If ev.DedupeKey is set and an
	// event of the account already has it, nothing is stored and it returns
	// false.
	EnqueueEvent(ctx context.Context, ev *WebhookEvent, deliveries []*WebhookDelivery) (bool, error)
	// WebhookEvent returns an event by id, or ErrNotFound.
	WebhookEvent(ctx context.Context, id string) (*WebhookEvent, error)
	// ClaimDeliveries returns up to limit pending deliveries due at now
	// (NextAttemptAt at or before it), oldest due first, and moves their
	// NextAttemptAt to now+lease in the same transaction, so that no other
	// worker claims them meanwhile; a worker that dies before recording an
	// attempt leaves them to be claimed again once the lease ends.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*DueDelivery, error)
	// SaveDelivery stores d's status, attempts, next attempt and last
	// attempt fields and, when a is not nil, appends a to its log, in one
	// transaction; ErrNotFound if d does not exist.
	SaveDelivery(ctx context.Context, d *WebhookDelivery, a *DeliveryAttempt) error
	// WebhookDelivery returns a delivery by id, or ErrNotFound.
	WebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error)
	// WebhookDeliveries returns the deliveries q selects, newest first.
	WebhookDeliveries(ctx context.Context, q DeliveryQuery) ([]*WebhookDelivery, error)
	// DeliveryAttempts returns a delivery's log, first attempt first.
	DeliveryAttempts(ctx context.Context, deliveryID string) ([]*DeliveryAttempt, error)
	// PruneWebhookEvents deletes the events created before before whose
	// deliveries are all finished (succeeded or failed), with those
	// deliveries and their log, and returns how many events it deleted.
	PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error)
}
