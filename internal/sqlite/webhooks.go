package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// Webhook endpoints and the outbox (amp.WebhookStore; see 005_webhooks.sql).
// They are written rarely next to decisions and outcomes, so, like the
// dashboard's rows, their statements are not prepared up front: the writer
// runs them on its connection inside the batch's transaction.

var _ amp.WebhookStore = (*DB)(nil)

// maxDeliveryQuery caps the rows of one WebhookDeliveries call.
const maxDeliveryQuery = 1000

const (
	endpointCols = "id, account_id, mode, url, description, event_types, secret, previous_secret, previous_expires_at, disabled, created_at, updated_at"
	eventCols    = "id, account_id, mode, type, dedupe_key, payload, created_at"
	deliveryCols = "id, event_id, endpoint_id, account_id, mode, event_type, status, attempts, next_attempt_at, last_attempt_at, last_status, last_latency_us, last_error, created_at"
	attemptCols  = "delivery_id, attempt, at, status, latency_us, error"
)

func encEventTypes(ts []amp.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

func decEventTypes(s string) []amp.EventType {
	var out []amp.EventType
	for t := range strings.SplitSeq(s, ",") {
		if t != "" {
			out = append(out, amp.EventType(t))
		}
	}
	return out
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateWebhookEndpoint stores e.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *amp.WebhookEndpoint) error {
	args := []any{e.ID, e.AccountID, string(e.Mode), e.URL, e.Description, encEventTypes(e.EventTypes), e.Secret,
		e.PreviousSecret, encTimePtr(e.PreviousSecretExpiresAt), boolInt(e.Disabled), encTime(e.CreatedAt), encTime(e.UpdatedAt)}
	return db.write(ctx, func(w *writer) error {
		_, err := dashExec(w, "INSERT INTO webhook_endpoints ("+endpointCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...)
		return db.mapErr("create webhook endpoint", err)
	})
}

// WebhookEndpoint returns the endpoint id, or amp.ErrNotFound.
func (db *DB) WebhookEndpoint(ctx context.Context, id string) (*amp.WebhookEndpoint, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	e, err := scanEndpoint(db.rdb.QueryRowContext(ctx, "SELECT "+endpointCols+" FROM webhook_endpoints WHERE id = ?", id))
	if err != nil {
		return nil, db.mapErr("webhook endpoint", err)
	}
	return e, nil
}

// WebhookEndpoints returns the account's endpoints, oldest first.
func (db *DB) WebhookEndpoints(ctx context.Context, accountID string) ([]*amp.WebhookEndpoint, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.rdb.QueryContext(ctx, "SELECT "+endpointCols+" FROM webhook_endpoints WHERE account_id = ? ORDER BY created_at, id", accountID)
	if err != nil {
		return nil, db.mapErr("webhook endpoints", err)
	}
	out, err := collect(rows, scanEndpoint)
	return out, db.mapErr("webhook endpoints", err)
}

// UpdateWebhookEndpoint stores e's changeable fields.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, e *amp.WebhookEndpoint) error {
	args := []any{e.URL, e.Description, encEventTypes(e.EventTypes), e.Secret, e.PreviousSecret,
		encTimePtr(e.PreviousSecretExpiresAt), boolInt(e.Disabled), encTime(e.UpdatedAt), e.ID}
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, `UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, secret = ?,
			previous_secret = ?, previous_expires_at = ?, disabled = ?, updated_at = ? WHERE id = ?`, args...)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		return db.mapErr("update webhook endpoint", err)
	})
}

// DeleteWebhookEndpoint removes an endpoint; its deliveries and their log
// go with it (ON DELETE CASCADE).
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, "DELETE FROM webhook_endpoints WHERE id = ?", id)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		return db.mapErr("delete webhook endpoint", err)
	})
}

// EnqueueEvent stores ev and its deliveries in one transaction.
func (db *DB) EnqueueEvent(ctx context.Context, ev *amp.WebhookEvent, deliveries []*amp.WebhookDelivery) (bool, error) {
	var dedupe any
	if ev.DedupeKey != "" {
		dedupe = ev.DedupeKey
	}
	evArgs := []any{ev.ID, ev.AccountID, string(ev.Mode), string(ev.Type), dedupe, []byte(ev.Payload), encTime(ev.CreatedAt)}
	dArgs := make([][]any, len(deliveries))
	for i, d := range deliveries {
		dArgs[i] = deliveryArgs(d)
	}
	stored := false
	err := db.write(ctx, func(w *writer) error {
		stored = false
		n, err := dashExec(w, "INSERT INTO webhook_events ("+eventCols+") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING", evArgs...)
		if err != nil {
			return db.mapErr("enqueue event", err)
		}
		if n == 0 {
			return nil
		}
		for _, args := range dArgs {
			if _, err := dashExec(w, "INSERT INTO webhook_deliveries ("+deliveryCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...); err != nil {
				return db.mapErr("enqueue event: delivery", err)
			}
		}
		stored = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return stored, nil
}

func deliveryArgs(d *amp.WebhookDelivery) []any {
	return []any{d.ID, d.EventID, d.EndpointID, d.AccountID, string(d.Mode), string(d.EventType), string(d.Status), d.Attempts,
		encTime(d.NextAttemptAt), encTimePtr(d.LastAttemptAt), d.LastStatus, d.LastLatency.Microseconds(), d.LastError, encTime(d.CreatedAt)}
}

// WebhookEvent returns the event id, or amp.ErrNotFound.
func (db *DB) WebhookEvent(ctx context.Context, id string) (*amp.WebhookEvent, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	ev, err := scanEvent(db.rdb.QueryRowContext(ctx, "SELECT "+eventCols+" FROM webhook_events WHERE id = ?", id))
	if err != nil {
		return nil, db.mapErr("webhook event", err)
	}
	return ev, nil
}

// ClaimDeliveries claims the due pending deliveries.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*amp.DueDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	nowUS, until := encTime(now), encTime(now.Add(lease))
	// Most polls find nothing due: a read says so without taking a turn
	// of the one writer, which serves the request path.
	if db.closed.Load() {
		return nil, errClosed
	}
	var one int
	err := db.rdb.QueryRowContext(ctx, "SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1", nowUS).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.mapErr("claim deliveries", err)
	}
	var out []*amp.DueDelivery
	err = db.write(ctx, func(w *writer) error {
		out = nil
		rows, err := w.conn.QueryContext(bg, "SELECT "+prefixed("d.", deliveryCols)+", "+prefixed("v.", eventCols)+", "+prefixed("e.", endpointCols)+`
			FROM webhook_deliveries d
			JOIN webhook_events v ON v.id = d.event_id
			JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ?
			ORDER BY d.next_attempt_at, d.id LIMIT ?`, nowUS, limit)
		if err != nil {
			return db.mapErr("claim deliveries", err)
		}
		due, err := collect(rows, scanDue)
		if err != nil {
			return db.mapErr("claim deliveries", err)
		}
		for _, dd := range due {
			if _, err := dashExec(w, "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?", until, dd.Delivery.ID); err != nil {
				return db.mapErr("claim deliveries", err)
			}
			dd.Delivery.NextAttemptAt = decTime(until)
		}
		out = due
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveDelivery stores d's state and appends a to its log.
func (db *DB) SaveDelivery(ctx context.Context, d *amp.WebhookDelivery, a *amp.DeliveryAttempt) error {
	args := []any{string(d.Status), d.Attempts, encTime(d.NextAttemptAt), encTimePtr(d.LastAttemptAt), d.LastStatus,
		d.LastLatency.Microseconds(), d.LastError, d.ID}
	var aArgs []any
	if a != nil {
		aArgs = []any{a.DeliveryID, a.Attempt, encTime(a.At), a.Status, a.Latency.Microseconds(), a.Error}
	}
	return db.write(ctx, func(w *writer) error {
		n, err := dashExec(w, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?,
			last_status = ?, last_latency_us = ?, last_error = ? WHERE id = ?`, args...)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		if err == nil && aArgs != nil {
			_, err = dashExec(w, "INSERT INTO webhook_attempts ("+attemptCols+") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", aArgs...)
		}
		return db.mapErr("save delivery", err)
	})
}

// WebhookDelivery returns the delivery id, or amp.ErrNotFound.
func (db *DB) WebhookDelivery(ctx context.Context, id string) (*amp.WebhookDelivery, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	d, err := scanDelivery(db.rdb.QueryRowContext(ctx, "SELECT "+deliveryCols+" FROM webhook_deliveries WHERE id = ?", id))
	if err != nil {
		return nil, db.mapErr("webhook delivery", err)
	}
	return d, nil
}

// WebhookDeliveries returns the deliveries q selects, newest first.
func (db *DB) WebhookDeliveries(ctx context.Context, q amp.DeliveryQuery) ([]*amp.WebhookDelivery, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	limit := q.Limit
	if limit <= 0 || limit > maxDeliveryQuery {
		limit = maxDeliveryQuery
	}
	query := "SELECT " + deliveryCols + " FROM webhook_deliveries WHERE account_id = ?"
	args := []any{q.AccountID}
	if q.EndpointID != "" {
		query += " AND endpoint_id = ?"
		args = append(args, q.EndpointID)
	}
	if q.Status != "" {
		query += " AND status = ?"
		args = append(args, string(q.Status))
	}
	if q.Mode != "" {
		query += " AND mode = ?"
		args = append(args, string(q.Mode))
	}
	if q.EventType != "" {
		query += " AND event_type = ?"
		args = append(args, string(q.EventType))
	}
	if q.Before != "" {
		// A row value compared with no row is NULL: a cursor that does
		// not exist selects nothing.
		query += " AND (created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = ?)"
		args = append(args, q.Before)
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := db.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.mapErr("webhook deliveries", err)
	}
	out, err := collect(rows, scanDelivery)
	return out, db.mapErr("webhook deliveries", err)
}

// DeliveryAttempts returns a delivery's log, first attempt first.
func (db *DB) DeliveryAttempts(ctx context.Context, deliveryID string) ([]*amp.DeliveryAttempt, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.rdb.QueryContext(ctx, "SELECT "+attemptCols+" FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt", deliveryID)
	if err != nil {
		return nil, db.mapErr("delivery attempts", err)
	}
	out, err := collect(rows, func(s scanner) (*amp.DeliveryAttempt, error) {
		var a amp.DeliveryAttempt
		var at, lat int64
		if err := s.Scan(&a.DeliveryID, &a.Attempt, &at, &a.Status, &lat, &a.Error); err != nil {
			return nil, err
		}
		a.At, a.Latency = decTime(at), time.Duration(lat)*time.Microsecond
		return &a, nil
	})
	return out, db.mapErr("delivery attempts", err)
}

// PruneWebhookEvents deletes old events whose deliveries are all finished.
func (db *DB) PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error) {
	b := encTime(before)
	var n int64
	err := db.write(ctx, func(w *writer) error {
		var err error
		n, err = dashExec(w, `DELETE FROM webhook_events WHERE created_at < ? AND NOT EXISTS (
			SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.status = 'pending')`, b)
		return db.mapErr("prune webhook events", err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// prefixed qualifies each column of a column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func endpointDest(e *amp.WebhookEndpoint, types *string, prevExp *sql.NullInt64, disabled, created, updated *int64) []any {
	return []any{&e.ID, &e.AccountID, (*string)(&e.Mode), &e.URL, &e.Description, types, &e.Secret,
		&e.PreviousSecret, prevExp, disabled, created, updated}
}

func finishEndpoint(e *amp.WebhookEndpoint, types string, prevExp sql.NullInt64, disabled, created, updated int64) {
	e.EventTypes = decEventTypes(types)
	e.PreviousSecretExpiresAt = decTimePtr(prevExp)
	e.Disabled = disabled != 0
	e.CreatedAt, e.UpdatedAt = decTime(created), decTime(updated)
}

func scanEndpoint(s scanner) (*amp.WebhookEndpoint, error) {
	var (
		e                          amp.WebhookEndpoint
		types                      string
		prevExp                    sql.NullInt64
		disabled, created, updated int64
	)
	if err := s.Scan(endpointDest(&e, &types, &prevExp, &disabled, &created, &updated)...); err != nil {
		return nil, err
	}
	finishEndpoint(&e, types, prevExp, disabled, created, updated)
	return &e, nil
}

func eventDest(ev *amp.WebhookEvent, dedupe *sql.NullString, payload *[]byte, created *int64) []any {
	return []any{&ev.ID, &ev.AccountID, (*string)(&ev.Mode), (*string)(&ev.Type), dedupe, payload, created}
}

func finishEvent(ev *amp.WebhookEvent, dedupe sql.NullString, payload []byte, created int64) {
	ev.DedupeKey = dedupe.String
	ev.Payload = payload
	ev.CreatedAt = decTime(created)
}

func scanEvent(s scanner) (*amp.WebhookEvent, error) {
	var (
		ev      amp.WebhookEvent
		dedupe  sql.NullString
		payload []byte
		created int64
	)
	if err := s.Scan(eventDest(&ev, &dedupe, &payload, &created)...); err != nil {
		return nil, err
	}
	finishEvent(&ev, dedupe, payload, created)
	return &ev, nil
}

type deliveryScan struct {
	next, lat, created int64
	last               sql.NullInt64
}

func deliveryDest(d *amp.WebhookDelivery, sc *deliveryScan) []any {
	return []any{&d.ID, &d.EventID, &d.EndpointID, &d.AccountID, (*string)(&d.Mode), (*string)(&d.EventType), (*string)(&d.Status),
		&d.Attempts, &sc.next, &sc.last, &d.LastStatus, &sc.lat, &d.LastError, &sc.created}
}

func (sc *deliveryScan) finish(d *amp.WebhookDelivery) {
	d.NextAttemptAt, d.LastAttemptAt = decTime(sc.next), decTimePtr(sc.last)
	d.LastLatency = time.Duration(sc.lat) * time.Microsecond
	d.CreatedAt = decTime(sc.created)
}

func scanDelivery(s scanner) (*amp.WebhookDelivery, error) {
	var d amp.WebhookDelivery
	var sc deliveryScan
	if err := s.Scan(deliveryDest(&d, &sc)...); err != nil {
		return nil, err
	}
	sc.finish(&d)
	return &d, nil
}

func scanDue(s scanner) (*amp.DueDelivery, error) {
	var (
		d       amp.WebhookDelivery
		dsc     deliveryScan
		ev      amp.WebhookEvent
		dedupe  sql.NullString
		payload []byte
		evAt    int64
		e       amp.WebhookEndpoint
		types   string
		prevExp sql.NullInt64

		disabled, created, updated int64
	)
	dest := deliveryDest(&d, &dsc)
	dest = append(dest, eventDest(&ev, &dedupe, &payload, &evAt)...)
	dest = append(dest, endpointDest(&e, &types, &prevExp, &disabled, &created, &updated)...)
	if err := s.Scan(dest...); err != nil {
		return nil, fmt.Errorf("scan due delivery: %w", err)
	}
	dsc.finish(&d)
	finishEvent(&ev, dedupe, payload, evAt)
	finishEndpoint(&e, types, prevExp, disabled, created, updated)
	return &amp.DueDelivery{Delivery: &d, Event: &ev, Endpoint: &e}, nil
}
