package dashboard

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// UserOptions describe a dashboard user added by the operator.
type UserOptions struct {
	Email    string
	Password string
	// AccountID makes the user the owner of an existing account (such as
	// the "default" account of a new server). When empty, a new starter
	// account named AccountName (the email when empty) is created.
	AccountID   string
	AccountName string
	// Password sets the argon2id parameters; DefaultPasswordParams when zero.
	Params PasswordParams
}

// AddUser adds a dashboard user from outside the web interface, for
// deployments whose sign-up is closed (`amp users add`).
// It applies the sign-up form's rules and returns an *amp.Error with
// INVALID_REQUEST for bad input, NOT_FOUND for an unknown account, and
// amp.ErrConflict (wrapped) when the email is taken or the account already
// has a user.
func AddUser(ctx context.Context, svc *service.Service, store amp.DashboardStore, opts UserOptions) (*amp.DashboardUser, error) {
	email := normalizeEmail(opts.Email)
	if msg := cmp.Or(emailProblem(email), passwordProblem(opts.Password)); msg != "" {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "%s", msg)
	}
	h := &handler{svc: svc, store: store, now: svc.Now}
	h.random = rand.Reader
	params := opts.Params
	if params == (PasswordParams{}) {
		params = DefaultPasswordParams
	}
	var err error
	if h.hash, err = newHasher(params, h.random, 1); err != nil {
		return nil, err
	}
	if opts.AccountID != "" {
		if _, err := svc.Account(ctx, opts.AccountID); err != nil {
			return nil, err
		}
	}
	u, err := h.createUser(ctx, email, opts.Password, cmp.Or(opts.AccountName, email), opts.AccountID)
	if errors.Is(err, amp.ErrConflict) {
		return nil, fmt.Errorf("dashboard: the email is taken or the account already has a user: %w", err)
	}
	return u, err
}
