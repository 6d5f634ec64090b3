package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testAccounts(t *testing.T) {
	t.Run("CreateAndGet", func(t *testing.T) {
		st := s.newStore(t)
		a := &amp.Account{
			ID: "acct_1", Name: "Acme Ltd", Plan: amp.PlanEnterprise, CustomRate: 2500, HoldoutPercent: 15,
			CreatedAt: at(0).In(elsewhere),
		}
		mustCreateAccount(t, st, a)
		got, err := st.Account(t.Context(), "acct_1")
		noErr(t, "Account", err)
		want := *a
		want.CreatedAt = a.CreatedAt.UTC()
		checkAccount(t, "Account", got, &want)
	})

	t.Run("ZeroValues", func(t *testing.T) {
		st := s.newStore(t)
		a := &amp.Account{ID: "acct_0", Name: "", Plan: amp.PlanStarter, CreatedAt: at(0)}
		mustCreateAccount(t, st, a)
		got, err := st.Account(t.Context(), "acct_0")
		noErr(t, "Account", err)
		checkAccount(t, "Account", got, a)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		st := s.newStore(t)
		a := newAccount("acct_dup", at(0))
		mustCreateAccount(t, st, a)
		err := st.CreateAccount(t.Context(), &amp.Account{ID: "acct_dup", Name: "other", Plan: amp.PlanStarter, CreatedAt: at(time.Hour)})
		wantErr(t, "CreateAccount with an existing id", err, amp.ErrConflict)
		got, err := st.Account(t.Context(), "acct_dup")
		noErr(t, "Account", err)
		checkAccount(t, "Account after the refused duplicate", got, a)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := s.newStore(t)
		_, err := st.Account(t.Context(), "acct_missing")
		wantErr(t, "Account of an unknown id", err, amp.ErrNotFound)
		err = st.UpdateAccount(t.Context(), newAccount("acct_missing", at(0)))
		wantErr(t, "UpdateAccount of an unknown id", err, amp.ErrNotFound)
		accts, err := st.Accounts(t.Context())
		noErr(t, "Accounts", err)
		if len(accts) != 0 {
			t.Errorf("Accounts of an empty store: got %d, want 0 (UpdateAccount must not create)", len(accts))
		}
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		st := s.newStore(t)
		// Created in an order that is neither that of the ids nor of time.
		mustCreateAccount(t, st, newAccount("acct_b", at(2*time.Hour)))
		mustCreateAccount(t, st, newAccount("acct_c", at(0)))
		mustCreateAccount(t, st, newAccount("acct_a", at(time.Hour)))
		accts, err := st.Accounts(t.Context())
		noErr(t, "Accounts", err)
		var ids []string
		for _, a := range accts {
			ids = append(ids, a.ID)
		}
		if want := []string{"acct_c", "acct_a", "acct_b"}; !slices.Equal(ids, want) {
			t.Fatalf("Accounts: got %q, want %q (oldest first)", ids, want)
		}
		checkAccount(t, "Accounts[1]", accts[1], newAccount("acct_a", at(time.Hour)))
	})

	t.Run("Update", func(t *testing.T) {
		st := s.newStore(t)
		mustCreateAccount(t, st, newAccount("acct_u", at(0)))
		mustCreateAccount(t, st, newAccount("acct_other", at(time.Minute)))
		upd := &amp.Account{ID: "acct_u", Name: "Renamed", Plan: amp.PlanEnterprise, CustomRate: 5000, HoldoutPercent: 0, CreatedAt: at(0)}
		noErr(t, "UpdateAccount", st.UpdateAccount(t.Context(), upd))
		got, err := st.Account(t.Context(), "acct_u")
		noErr(t, "Account", err)
		checkAccount(t, "updated Account", got, upd)
		other, err := st.Account(t.Context(), "acct_other")
		noErr(t, "Account", err)
		checkAccount(t, "other Account", other, newAccount("acct_other", at(time.Minute)))
	})
}
