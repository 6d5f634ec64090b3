package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/amp-protocol/amp"
)

// Setting returns the value of the setting name, or "" if it was never set.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	if err := db.ready(ctx); err != nil {
		return "", err
	}
	var v string
	err := db.r.setting.QueryRowContext(bg, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", db.mapErr("setting "+name, err)
	}
	return v, nil
}

// SetSetting stores value as the setting name.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		_, err := w.exec(w.setSetting, name, value)
		return db.mapErr("set setting "+name, err)
	})
}

var _ amp.LearningStore = (*DB)(nil)
