package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/amp-protocol/amp"
)

// CreateKey stores k; amp.ErrConflict if its id or hash exists,
// amp.ErrNotFound if its account does not.
func (db *DB) CreateKey(ctx context.Context, k *amp.APIKey) error {
	args := insertKeyArgs(k)
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		_, err := w.exec(w.insKey, args...)
		return db.mapErr("create key", err)
	})
}

// insertKeyArgs are the arguments of sqlInsertKey for k, in keyCols' order.
func insertKeyArgs(k *amp.APIKey) []any {
	return []any{k.ID, k.AccountID, string(k.Mode), k.Name, k.Hash, k.Last4, encScopes(k.Scopes), k.RateLimit,
		encTimePtr(k.ExpiresAt), encTimePtr(k.RevokedAt), encTime(k.CreatedAt), encTimePtr(k.LastUsedAt),
		encTimePtr(k.QuarantinedAt), k.QuarantineReason, k.QuarantineURL, k.RolledFrom, k.RolledTo}
}

// UpdateKey stores k's name, scopes, rate limit, expiry, revocation and
// quarantine;
// amp.ErrNotFound if there is no such key.
func (db *DB) UpdateKey(ctx context.Context, k *amp.APIKey) error {
	args := []any{k.Name, encScopes(k.Scopes), k.RateLimit, encTimePtr(k.ExpiresAt), encTimePtr(k.RevokedAt),
		encTimePtr(k.QuarantinedAt), k.QuarantineReason, k.QuarantineURL, k.ID}
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		n, err := w.exec(w.updKey, args...)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		return db.mapErr("update key", err)
	})
}

// RollKey stores next and old's new expiry (old.ExpiresAt, the end of its
// grace) and replacement (next.ID) in one transaction. amp.ErrConflict if
// next's id or hash exists or old is revoked or rolled already,
// amp.ErrNotFound if old or next's account does not exist: either way
// nothing is stored.
func (db *DB) RollKey(ctx context.Context, old, next *amp.APIKey) error {
	args := insertKeyArgs(next)
	expires := encTimePtr(old.ExpiresAt)
	// With a savepoint: the insert is undone if the update then fails.
	return db.write(ctx, func(w *writer) error {
		if _, err := w.exec(w.insKey, args...); err != nil {
			return db.mapErr("roll key: new key", err)
		}
		// A revoked or rolled key keeps its expiry, and the roll fails: the
		// key was revoked or rolled after the caller read it.
		var live bool
		err := w.conn.QueryRowContext(bg, `UPDATE api_keys SET
				expires_at = CASE WHEN revoked_at IS NULL AND rolled_to = '' THEN ?2 ELSE expires_at END,
				rolled_to = CASE WHEN revoked_at IS NULL AND rolled_to = '' THEN ?3 ELSE rolled_to END
			WHERE id = ?1 RETURNING revoked_at IS NULL AND rolled_to = ?3`, old.ID, expires, next.ID).Scan(&live)
		if err == nil && !live {
			err = fmt.Errorf("revoked or rolled: %w", amp.ErrConflict)
		}
		return db.mapErr("roll key", err)
	})
}

// TouchKey sets the key's last-used time to at unless it is already later;
// amp.ErrNotFound if there is no such key.
func (db *DB) TouchKey(ctx context.Context, id string, at time.Time) error {
	us := encTime(at)
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		n, err := w.exec(w.touchKey, id, us)
		if err == nil && n == 0 {
			// Either the key is unknown or it was used later already.
			var one int
			err = w.keyExists.QueryRowContext(bg, id).Scan(&one)
		}
		return db.mapErr("touch key", err)
	})
}

// KeyByHash returns the key whose hash is hash, or amp.ErrNotFound.
func (db *DB) KeyByHash(ctx context.Context, hash string) (*amp.APIKey, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	k, err := scanKey(db.r.keyByHash.QueryRowContext(bg, hash))
	if err != nil {
		return nil, db.mapErr("key by hash", err)
	}
	return k, nil
}

// Key returns the key id, or amp.ErrNotFound.
func (db *DB) Key(ctx context.Context, id string) (*amp.APIKey, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	k, err := scanKey(db.r.key.QueryRowContext(bg, id))
	if err != nil {
		return nil, db.mapErr("key", err)
	}
	return k, nil
}

// Keys returns the keys of an account, of both modes, oldest first.
func (db *DB) Keys(ctx context.Context, accountID string) ([]*amp.APIKey, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.r.keys.QueryContext(ctx, accountID)
	if err != nil {
		return nil, db.mapErr("keys", err)
	}
	defer rows.Close()
	var out []*amp.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, db.mapErr("keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("keys", err)
	}
	return out, nil
}

func scanKey(s scanner) (*amp.APIKey, error) {
	var (
		k                          amp.APIKey
		mode, scopes               string
		expires, revoked, lastUsed sql.NullInt64
		quarantined                sql.NullInt64
		created                    int64
	)
	if err := s.Scan(&k.ID, &k.AccountID, &mode, &k.Name, &k.Hash, &k.Last4, &scopes, &k.RateLimit,
		&expires, &revoked, &created, &lastUsed, &quarantined, &k.QuarantineReason, &k.QuarantineURL,
		&k.RolledFrom, &k.RolledTo); err != nil {
		return nil, err
	}
	k.Mode = amp.Mode(mode)
	k.Scopes = decScopes(scopes)
	k.ExpiresAt = decTimePtr(expires)
	k.RevokedAt = decTimePtr(revoked)
	k.CreatedAt = decTime(created)
	k.LastUsedAt = decTimePtr(lastUsed)
	k.QuarantinedAt = decTimePtr(quarantined)
	return &k, nil
}
