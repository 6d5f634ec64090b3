package sqlite

import (
	"context"
	"database/sql"

	"github.com/amp-protocol/amp"
)

// CreateAccount stores a; amp.ErrConflict if its id exists.
func (db *DB) CreateAccount(ctx context.Context, a *amp.Account) error {
	id, name, plan, rate, holdout, created := a.ID, a.Name, string(a.Plan), a.CustomRate, a.HoldoutPercent, encTime(a.CreatedAt)
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		_, err := w.exec(w.insAccount, id, name, plan, rate, holdout, created)
		return db.mapErr("create account", err)
	})
}

// UpdateAccount stores a's name, plan, custom rate and holdout share;
// amp.ErrNotFound if there is no such account.
func (db *DB) UpdateAccount(ctx context.Context, a *amp.Account) error {
	id, name, plan, rate, holdout := a.ID, a.Name, string(a.Plan), a.CustomRate, a.HoldoutPercent
	return db.writeNoSavepoint(ctx, func(w *writer) error {
		n, err := w.exec(w.updAccount, name, plan, rate, holdout, id)
		if err == nil && n == 0 {
			err = amp.ErrNotFound
		}
		return db.mapErr("update account", err)
	})
}

// Account returns the account id, or amp.ErrNotFound.
func (db *DB) Account(ctx context.Context, id string) (*amp.Account, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	a, err := scanAccount(db.r.account.QueryRowContext(bg, id))
	if err != nil {
		return nil, db.mapErr("account", err)
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (db *DB) Accounts(ctx context.Context) ([]*amp.Account, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	rows, err := db.r.accounts.QueryContext(ctx)
	if err != nil {
		return nil, db.mapErr("accounts", err)
	}
	defer rows.Close()
	var out []*amp.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, db.mapErr("accounts", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, db.mapErr("accounts", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

var _ scanner = (*sql.Row)(nil)

func scanAccount(s scanner) (*amp.Account, error) {
	var (
		a       amp.Account
		plan    string
		created int64
	)
	if err := s.Scan(&a.ID, &a.Name, &plan, &a.CustomRate, &a.HoldoutPercent, &created); err != nil {
		return nil, err
	}
	a.Plan = amp.Plan(plan)
	a.CreatedAt = decTime(created)
	return &a, nil
}
