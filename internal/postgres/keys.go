package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

const keyColumns = "id, account_id, mode, name, hash, last4, scopes, rate_limit, expires_at, revoked_at, created_at, last_used_at, quarantined_at, quarantine_reason, quarantine_url, rolled_from, rolled_to"

const insertKeySQL = "INSERT INTO api_keys (" + keyColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"

// insertKeyArgs are the arguments of insertKeySQL for k, in keyColumns'
// order.
func insertKeyArgs(k *amp.APIKey) []any {
	return []any{k.ID, k.AccountID, string(k.Mode), k.Name, k.Hash, k.Last4, scopeStrings(k.Scopes), k.RateLimit,
		k.ExpiresAt, k.RevokedAt, k.CreatedAt, k.LastUsedAt, k.QuarantinedAt, k.QuarantineReason, k.QuarantineURL, k.RolledFrom, k.RolledTo}
}

// CreateKey stores k; ErrConflict if its id or hash exists, ErrNotFound if
// its account does not.
func (db *DB) CreateKey(ctx context.Context, k *amp.APIKey) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, insertKeySQL, insertKeyArgs(k)...)
	if err != nil {
		return fmt.Errorf("postgres: create key %s: %w", k.ID, mapErr(err))
	}
	return nil
}

// KeyByHash returns the key whose hash is hash, or ErrNotFound.
func (db *DB) KeyByHash(ctx context.Context, hash string) (*amp.APIKey, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE hash = $1", hash)
	k, err := pgx.CollectExactlyOneRow(rows, scanKey)
	if err != nil {
		// The hash identifies a secret: it stays out of the error.
		return nil, fmt.Errorf("postgres: key by hash: %w", mapErr(err))
	}
	return k, nil
}

// Key returns the key id, or ErrNotFound.
func (db *DB) Key(ctx context.Context, id string) (*amp.APIKey, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = $1", id)
	k, err := pgx.CollectExactlyOneRow(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: key %s: %w", id, mapErr(err))
	}
	return k, nil
}

// Keys returns the keys of an account in both modes, oldest first.
func (db *DB) Keys(ctx context.Context, accountID string) ([]*amp.APIKey, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE account_id = $1 ORDER BY created_at, id", accountID)
	ks, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: keys of %s: %w", accountID, mapErr(err))
	}
	return ks, nil
}

// UpdateKey stores k's name, scopes, rate limit, expiry, revocation and
// quarantine;
// ErrNotFound if it does not exist. Other instances see the change when
// their key cache's entry ends (internal/service keeps keys 500 ms).
func (db *DB) UpdateKey(ctx context.Context, k *amp.APIKey) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET name = $2, scopes = $3, rate_limit = $4, expires_at = $5, revoked_at = $6,
			quarantined_at = $7, quarantine_reason = $8, quarantine_url = $9 WHERE id = $1`,
		k.ID, k.Name, scopeStrings(k.Scopes), k.RateLimit, k.ExpiresAt, k.RevokedAt,
		k.QuarantinedAt, k.QuarantineReason, k.QuarantineURL)
	if err != nil {
		return fmt.Errorf("postgres: update key %s: %w", k.ID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update key %s: %w", k.ID, amp.ErrNotFound)
	}
	return nil
}

// RollKey stores next and old's new expiry (old.ExpiresAt, the end of its
// grace) and replacement (next.ID) in one transaction. ErrConflict if
// next's id or hash exists or old is revoked or rolled already,
// ErrNotFound if old or next's account does not exist: either way nothing
// is stored.
func (db *DB) RollKey(ctx context.Context, old, next *amp.APIKey) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertKeySQL, insertKeyArgs(next)...); err != nil {
			return fmt.Errorf("postgres: roll key %s: new key %s: %w", old.ID, next.ID, mapErr(err))
		}
		// A revoked or rolled key keeps its expiry, and the roll fails: the
		// key was revoked or rolled after the caller read it. The row lock
		// of the update orders concurrent rolls of one key.
		var live bool
		err := tx.QueryRow(ctx, `UPDATE api_keys SET
				expires_at = CASE WHEN revoked_at IS NULL AND rolled_to = '' THEN $2 ELSE expires_at END,
				rolled_to = CASE WHEN revoked_at IS NULL AND rolled_to = '' THEN $3 ELSE rolled_to END
			WHERE id = $1 RETURNING revoked_at IS NULL AND rolled_to = $3`, old.ID, old.ExpiresAt, next.ID).Scan(&live)
		if err != nil {
			return fmt.Errorf("postgres: roll key %s: %w", old.ID, mapErr(err))
		}
		if !live {
			return fmt.Errorf("postgres: roll key %s: revoked or rolled: %w", old.ID, amp.ErrConflict)
		}
		return nil
	})
}

// TouchKey sets the key's last-used time to at if at is later than the
// stored one; ErrNotFound if the key does not exist.
func (db *DB) TouchKey(ctx context.Context, id string, at time.Time) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	// One statement: the update, and whether the key exists at all, which
	// tells "not later" apart from "no such key" without a second query.
	var exists bool
	err := db.pool.QueryRow(ctx, `WITH touched AS (
			UPDATE api_keys SET last_used_at = $2
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)
			RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM touched) OR EXISTS (SELECT 1 FROM api_keys WHERE id = $1)`,
		id, at).Scan(&exists)
	if err != nil {
		return fmt.Errorf("postgres: touch key %s: %w", id, mapErr(err))
	}
	if !exists {
		return fmt.Errorf("postgres: touch key %s: %w", id, amp.ErrNotFound)
	}
	return nil
}

func scanKey(row pgx.CollectableRow) (*amp.APIKey, error) {
	var k amp.APIKey
	var mode string
	var scopes []string
	var rate int32
	if err := row.Scan(&k.ID, &k.AccountID, &mode, &k.Name, &k.Hash, &k.Last4, &scopes, &rate,
		&k.ExpiresAt, &k.RevokedAt, &k.CreatedAt, &k.LastUsedAt, &k.QuarantinedAt, &k.QuarantineReason, &k.QuarantineURL, &k.RolledFrom, &k.RolledTo); err != nil {
		return nil, err
	}
	k.Mode, k.RateLimit = amp.Mode(mode), int(rate)
	for _, s := range scopes {
		k.Scopes = append(k.Scopes, amp.Scope(s)) // no scopes stay nil
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = utcPtr(k.ExpiresAt), utcPtr(k.RevokedAt), utcPtr(k.LastUsedAt)
	k.QuarantinedAt = utcPtr(k.QuarantinedAt)
	return &k, nil
}

func scopeStrings(scopes []amp.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}
