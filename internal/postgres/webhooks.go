package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

// Webhook endpoints and the outbox (amp.WebhookStore; see 005_webhooks.sql).
// ClaimDeliveries locks the rows it claims with FOR UPDATE SKIP LOCKED, so
// that instances polling at the same time claim disjoint sets.

var _ amp.WebhookStore = (*DB)(nil)

// maxDeliveryQuery caps the rows of one WebhookDeliveries call.
const maxDeliveryQuery = 1000

const (
	endpointColumns = "id, account_id, mode, url, description, event_types, secret, previous_secret, previous_expires_at, disabled, created_at, updated_at"
	eventColumns    = "id, account_id, mode, type, dedupe_key, payload, created_at"
	deliveryColumns = "id, event_id, endpoint_id, account_id, mode, event_type, status, attempts, next_attempt_at, last_attempt_at, last_status, last_latency_us, last_error, created_at"
	attemptColumns  = "delivery_id, attempt, at, status, latency_us, error"
)

func eventTypeStrings(ts []amp.EventType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// CreateWebhookEndpoint stores e.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *amp.WebhookEndpoint) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO webhook_endpoints ("+endpointColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		e.ID, e.AccountID, string(e.Mode), e.URL, e.Description, eventTypeStrings(e.EventTypes), e.Secret,
		e.PreviousSecret, e.PreviousSecretExpiresAt, e.Disabled, e.CreatedAt, e.UpdatedAt)
	if err != nil {
		return fmt.Errorf("postgres: create webhook endpoint %s: %w", e.ID, mapErr(err))
	}
	return nil
}

// WebhookEndpoint returns the endpoint id, or ErrNotFound.
func (db *DB) WebhookEndpoint(ctx context.Context, id string) (*amp.WebhookEndpoint, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+endpointColumns+" FROM webhook_endpoints WHERE id = $1", id)
	e, err := pgx.CollectExactlyOneRow(rows, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook endpoint %s: %w", id, mapErr(err))
	}
	return e, nil
}

// WebhookEndpoints returns the account's endpoints, oldest first.
func (db *DB) WebhookEndpoints(ctx context.Context, accountID string) ([]*amp.WebhookEndpoint, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+endpointColumns+" FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at, id", accountID)
	es, err := pgx.CollectRows(rows, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook endpoints of %s: %w", accountID, mapErr(err))
	}
	return es, nil
}

// UpdateWebhookEndpoint stores e's changeable fields.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, e *amp.WebhookEndpoint) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, secret = $5,
		previous_secret = $6, previous_expires_at = $7, disabled = $8, updated_at = $9 WHERE id = $1`,
		e.ID, e.URL, e.Description, eventTypeStrings(e.EventTypes), e.Secret, e.PreviousSecret, e.PreviousSecretExpiresAt,
		e.Disabled, e.UpdatedAt)
	if err != nil {
		return fmt.Errorf("postgres: update webhook endpoint %s: %w", e.ID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update webhook endpoint %s: %w", e.ID, amp.ErrNotFound)
	}
	return nil
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries and log.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM webhook_endpoints WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("postgres: delete webhook endpoint %s: %w", id, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete webhook endpoint %s: %w", id, amp.ErrNotFound)
	}
	return nil
}

// EnqueueEvent stores ev and its deliveries in one transaction.
func (db *DB) EnqueueEvent(ctx context.Context, ev *amp.WebhookEvent, deliveries []*amp.WebhookDelivery) (bool, error) {
	var dedupe *string
	if ev.DedupeKey != "" {
		dedupe = &ev.DedupeKey
	}
	stored := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO webhook_events ("+eventColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
			ev.ID, ev.AccountID, string(ev.Mode), string(ev.Type), dedupe, []byte(ev.Payload), ev.CreatedAt)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		b := &pgx.Batch{}
		for _, d := range deliveries {
			b.Queue("INSERT INTO webhook_deliveries ("+deliveryColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
				d.ID, d.EventID, d.EndpointID, d.AccountID, string(d.Mode), string(d.EventType), string(d.Status), d.Attempts,
				d.NextAttemptAt, d.LastAttemptAt, d.LastStatus, d.LastLatency.Microseconds(), d.LastError, d.CreatedAt)
		}
		if err := mapErr(tx.SendBatch(ctx, b).Close()); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("postgres: enqueue event %s: %w", ev.ID, err)
	}
	return stored, nil
}

// WebhookEvent returns the event id, or ErrNotFound.
func (db *DB) WebhookEvent(ctx context.Context, id string) (*amp.WebhookEvent, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+eventColumns+" FROM webhook_events WHERE id = $1", id)
	ev, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook event %s: %w", id, mapErr(err))
	}
	return ev, nil
}

// ClaimDeliveries claims the due pending deliveries.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*amp.DueDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := now.Add(lease)
	var out []*amp.DueDelivery
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `WITH due AS (
				SELECT id FROM webhook_deliveries
				WHERE status = 'pending' AND next_attempt_at <= $1
				ORDER BY next_attempt_at, id LIMIT $2
				FOR UPDATE SKIP LOCKED
			), claimed AS (
				UPDATE webhook_deliveries d SET next_attempt_at = $3 FROM due WHERE d.id = due.id
				RETURNING d.*
			)
			SELECT `+prefixed("d.", deliveryColumns)+", "+prefixed("v.", eventColumns)+", "+prefixed("e.", endpointColumns)+`
			FROM claimed d
			JOIN webhook_events v ON v.id = d.event_id
			JOIN webhook_endpoints e ON e.id = d.endpoint_id
			ORDER BY d.created_at, d.id`, now, limit, until)
		var err error
		out, err = pgx.CollectRows(rows, scanDue)
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim deliveries: %w", err)
	}
	return out, nil
}

// SaveDelivery stores d's state and appends a to its log.
func (db *DB) SaveDelivery(ctx context.Context, d *amp.WebhookDelivery, a *amp.DeliveryAttempt) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
			last_attempt_at = $5, last_status = $6, last_latency_us = $7, last_error = $8 WHERE id = $1`,
			d.ID, string(d.Status), d.Attempts, d.NextAttemptAt, d.LastAttemptAt, d.LastStatus, d.LastLatency.Microseconds(), d.LastError)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return amp.ErrNotFound
		}
		if a != nil {
			_, err = tx.Exec(ctx, "INSERT INTO webhook_attempts ("+attemptColumns+") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
				a.DeliveryID, a.Attempt, a.At, a.Status, a.Latency.Microseconds(), a.Error)
		}
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: save delivery %s: %w", d.ID, err)
	}
	return nil
}

// WebhookDelivery returns the delivery id, or ErrNotFound.
func (db *DB) WebhookDelivery(ctx context.Context, id string) (*amp.WebhookDelivery, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE id = $1", id)
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook delivery %s: %w", id, mapErr(err))
	}
	return d, nil
}

// WebhookDeliveries returns the deliveries q selects, newest first.
func (db *DB) WebhookDeliveries(ctx context.Context, q amp.DeliveryQuery) ([]*amp.WebhookDelivery, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > maxDeliveryQuery {
		limit = maxDeliveryQuery
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+deliveryColumns+` FROM webhook_deliveries
		WHERE account_id = $1 AND ($2 = '' OR endpoint_id = $2) AND ($3 = '' OR status = $3)
		AND ($5 = '' OR mode = $5) AND ($6 = '' OR event_type = $6)
		AND ($7 = '' OR (created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = $7))
		ORDER BY created_at DESC, id DESC LIMIT $4`, q.AccountID, q.EndpointID, string(q.Status), limit,
		string(q.Mode), string(q.EventType), q.Before)
	ds, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhook deliveries of %s: %w", q.AccountID, mapErr(err))
	}
	return ds, nil
}

// DeliveryAttempts returns a delivery's log, first attempt first.
func (db *DB) DeliveryAttempts(ctx context.Context, deliveryID string) ([]*amp.DeliveryAttempt, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+attemptColumns+" FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt", deliveryID)
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*amp.DeliveryAttempt, error) {
		var a amp.DeliveryAttempt
		var attempt, status int32
		var lat int64
		if err := row.Scan(&a.DeliveryID, &attempt, &a.At, &status, &lat, &a.Error); err != nil {
			return nil, err
		}
		a.Attempt, a.Status = int(attempt), int(status)
		a.At, a.Latency = a.At.UTC(), time.Duration(lat)*time.Microsecond
		return &a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: delivery attempts of %s: %w", deliveryID, mapErr(err))
	}
	return as, nil
}

// PruneWebhookEvents deletes old events whose deliveries are all finished.
func (db *DB) PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error) {
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhook_events v WHERE v.created_at < $1 AND NOT EXISTS (
		SELECT 1 FROM webhook_deliveries d WHERE d.event_id = v.id AND d.status = 'pending')`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune webhook events: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func endpointDest(e *amp.WebhookEndpoint, types *[]string) []any {
	return []any{&e.ID, &e.AccountID, (*string)(&e.Mode), &e.URL, &e.Description, types, &e.Secret,
		&e.PreviousSecret, &e.PreviousSecretExpiresAt, &e.Disabled, &e.CreatedAt, &e.UpdatedAt}
}

func finishEndpoint(e *amp.WebhookEndpoint, types []string) {
	for _, t := range types {
		e.EventTypes = append(e.EventTypes, amp.EventType(t))
	}
	e.PreviousSecretExpiresAt = utcPtr(e.PreviousSecretExpiresAt)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
}

func scanEndpoint(row pgx.CollectableRow) (*amp.WebhookEndpoint, error) {
	var e amp.WebhookEndpoint
	var types []string
	if err := row.Scan(endpointDest(&e, &types)...); err != nil {
		return nil, err
	}
	finishEndpoint(&e, types)
	return &e, nil
}

func eventDest(ev *amp.WebhookEvent, dedupe **string, payload *[]byte) []any {
	return []any{&ev.ID, &ev.AccountID, (*string)(&ev.Mode), (*string)(&ev.Type), dedupe, payload, &ev.CreatedAt}
}

func finishEvent(ev *amp.WebhookEvent, dedupe *string, payload []byte) {
	if dedupe != nil {
		ev.DedupeKey = *dedupe
	}
	ev.Payload = payload
	ev.CreatedAt = ev.CreatedAt.UTC()
}

func scanEvent(row pgx.CollectableRow) (*amp.WebhookEvent, error) {
	var ev amp.WebhookEvent
	var dedupe *string
	var payload []byte
	if err := row.Scan(eventDest(&ev, &dedupe, &payload)...); err != nil {
		return nil, err
	}
	finishEvent(&ev, dedupe, payload)
	return &ev, nil
}

type deliveryScan struct {
	attempts, status int32
	lat              int64
}

func deliveryDest(d *amp.WebhookDelivery, sc *deliveryScan) []any {
	return []any{&d.ID, &d.EventID, &d.EndpointID, &d.AccountID, (*string)(&d.Mode), (*string)(&d.EventType), (*string)(&d.Status),
		&sc.attempts, &d.NextAttemptAt, &d.LastAttemptAt, &sc.status, &sc.lat, &d.LastError, &d.CreatedAt}
}

func (sc *deliveryScan) finish(d *amp.WebhookDelivery) {
	d.Attempts, d.LastStatus = int(sc.attempts), int(sc.status)
	d.LastLatency = time.Duration(sc.lat) * time.Microsecond
	d.NextAttemptAt, d.CreatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC()
	d.LastAttemptAt = utcPtr(d.LastAttemptAt)
}

func scanDelivery(row pgx.CollectableRow) (*amp.WebhookDelivery, error) {
	var d amp.WebhookDelivery
	var sc deliveryScan
	if err := row.Scan(deliveryDest(&d, &sc)...); err != nil {
		return nil, err
	}
	sc.finish(&d)
	return &d, nil
}

func scanDue(row pgx.CollectableRow) (*amp.DueDelivery, error) {
	var (
		d       amp.WebhookDelivery
		sc      deliveryScan
		ev      amp.WebhookEvent
		dedupe  *string
		payload []byte
		e       amp.WebhookEndpoint
		types   []string
	)
	dest := deliveryDest(&d, &sc)
	dest = append(dest, eventDest(&ev, &dedupe, &payload)...)
	dest = append(dest, endpointDest(&e, &types)...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	sc.finish(&d)
	finishEvent(&ev, dedupe, payload)
	finishEndpoint(&e, types)
	return &amp.DueDelivery{Delivery: &d, Event: &ev, Endpoint: &e}, nil
}
