package sqlite_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/storetest"
)

// The conformance suite again, with the learning cache on and so small
// (64 KiB: a few entries per shard) that it evicts all the time.
func TestStoreCached(t *testing.T) {
	storetest.Run(t, func(t *testing.T) amp.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"), sqlite.WithCacheBytes(64<<10))
	}, storetest.Reopen(func(t *testing.T, closed amp.Store) amp.Store {
		return mustOpen(t, closed.(*sqlite.DB).Path(), sqlite.WithCacheBytes(64<<10))
	}))
}

func TestCacheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amp.db")
	db := mustOpen(t, path, sqlite.WithCacheBytes(1<<20))
	_, err := sqlite.Open(t.Context(), path, sqlite.WithLogger(quiet), sqlite.WithCacheBytes(1<<20))
	if !errors.Is(err, amp.ErrUnavailable) || !strings.Contains(err.Error(), "in use by another amp serve") {
		t.Fatalf("second Open with the cache: %v, want ErrUnavailable, in use", err)
	}
	// An admin command's store, without the cache, opens beside it.
	admin := mustOpen(t, path)
	if err := admin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Close released the lock.
	again := mustOpen(t, path, sqlite.WithCacheBytes(1<<20))
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

// A write that fails after changing the profile and population in its
// transaction must leave the cache as it was, and a later read must see
// what committed.
func TestCacheRollback(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "amp.db"), sqlite.WithCacheBytes(1<<20))
	defer db.Close()
	ctx := t.Context()
	tn := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	now := time.Unix(1700000000, 0)
	if err := db.CreateAccount(ctx, &amp.Account{ID: "acct_1", Name: "a", Plan: amp.PlanPro, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveDecision(ctx, &amp.Decision{RequestID: "r1", Tenant: tn, UserID: "u", CreatedAt: now},
		&amp.ProfileRecord{Model: []byte("m0"), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// Warm the cache.
	if p, err := db.Profile(ctx, tn, "u"); err != nil || string(p.Model) != "m0" {
		t.Fatalf("Profile = %v, %v", p, err)
	}
	if _, err := db.Population(ctx, tn); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := db.RecordOutcome(ctx, tn, "r1", func(d *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		p.Model, pop.Model = []byte("m1"), []byte("pop1")
		return nil, []byte("pop1"), boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("RecordOutcome: %v, want boom", err)
	}
	if p, err := db.Profile(ctx, tn, "u"); err != nil || string(p.Model) != "m0" {
		t.Fatalf("after a failed outcome, Profile = %v, %v; want model m0", p, err)
	}
	if pop, err := db.Population(ctx, tn); err != nil || pop.Model != nil {
		t.Fatalf("after a failed outcome, Population = %v, %v; want none", pop, err)
	}
	if _, err := db.RecordOutcome(ctx, tn, "r1", func(d *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		p.Model = []byte("m2")
		return &amp.OutcomeRecord{Started: true, ReportedAt: now}, []byte("pop2"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FoldPopulation(ctx, tn, 10, func(pop *amp.PopulationRecord, deltas [][]byte) error {
		pop.Model, pop.UpdatedAt = deltas[0], now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p, err := db.Profile(ctx, tn, "u")
	if err != nil || string(p.Model) != "m2" {
		t.Fatalf("Profile = %v, %v; want model m2", p, err)
	}
	p.Model[0] = 'x' // a caller's copy: the cache must not see it
	if p, err := db.Profile(ctx, tn, "u"); err != nil || string(p.Model) != "m2" {
		t.Fatalf("Profile = %v, %v; want model m2", p, err)
	}
	if pop, err := db.Population(ctx, tn); err != nil || string(pop.Model) != "pop2" {
		t.Fatalf("Population = %v, %v; want pop2", pop, err)
	}
}
