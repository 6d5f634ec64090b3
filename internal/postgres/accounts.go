package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
)

const accountColumns = "id, name, plan, custom_rate, holdout_percent, created_at"

// CreateAccount stores a; ErrConflict if its id exists.
func (db *DB) CreateAccount(ctx context.Context, a *amp.Account) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO accounts ("+accountColumns+") VALUES ($1, $2, $3, $4, $5, $6)",
		a.ID, a.Name, string(a.Plan), a.CustomRate, a.HoldoutPercent, a.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: create account %s: %w", a.ID, mapErr(err))
	}
	return nil
}

// Account returns the account id, or ErrNotFound.
func (db *DB) Account(ctx context.Context, id string) (*amp.Account, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = $1", id)
	a, err := pgx.CollectExactlyOneRow(rows, scanAccount)
	if err != nil {
		return nil, fmt.Errorf("postgres: account %s: %w", id, mapErr(err))
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (db *DB) Accounts(ctx context.Context) ([]*amp.Account, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, "SELECT "+accountColumns+" FROM accounts ORDER BY created_at, id")
	as, err := pgx.CollectRows(rows, scanAccount)
	if err != nil {
		return nil, fmt.Errorf("postgres: accounts: %w", mapErr(err))
	}
	return as, nil
}

// UpdateAccount stores a's name, plan, custom rate and holdout share;
// ErrNotFound if it does not exist.
func (db *DB) UpdateAccount(ctx context.Context, a *amp.Account) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, "UPDATE accounts SET name = $2, plan = $3, custom_rate = $4, holdout_percent = $5 WHERE id = $1",
		a.ID, a.Name, string(a.Plan), a.CustomRate, a.HoldoutPercent)
	if err != nil {
		return fmt.Errorf("postgres: update account %s: %w", a.ID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update account %s: %w", a.ID, amp.ErrNotFound)
	}
	return nil
}

func scanAccount(row pgx.CollectableRow) (*amp.Account, error) {
	var a amp.Account
	var plan string
	var rate, holdout int32
	if err := row.Scan(&a.ID, &a.Name, &plan, &rate, &holdout, &a.CreatedAt); err != nil {
		return nil, err
	}
	a.Plan, a.CustomRate, a.HoldoutPercent = amp.Plan(plan), int(rate), int(holdout)
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}
