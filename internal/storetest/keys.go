package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testKeys(t *testing.T) {
	t.Run("CreateAndGet", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		bare := newKey("key_bare0001", tenantATest, at(0))
		bare.Scopes = nil
		full := &amp.APIKey{
			ID:         "key_full0002",
			AccountID:  tenantA.AccountID,
			Mode:       amp.ModeLive,
			Name:       "production ☃",
			Hash:       amp.HashKey("full"),
			Last4:      "Ab3x",
			Scopes:     []amp.Scope{amp.ScopeProfilesWrite, amp.ScopeContext, amp.ScopeProfilesRead, amp.ScopeOutcome},
			RateLimit:  42,
			ExpiresAt:  ptr(at(30 * 24 * time.Hour).In(elsewhere)),
			RevokedAt:  ptr(at(2 * time.Hour)),
			CreatedAt:  at(time.Hour).In(elsewhere),
			LastUsedAt: ptr(at(90 * time.Minute)),
		}
		for _, k := range []*amp.APIKey{bare, full} {
			noErr(t, "CreateKey "+k.ID, st.CreateKey(t.Context(), k))
		}
		wantFull := *full
		wantFull.CreatedAt = full.CreatedAt.UTC()
		wantFull.ExpiresAt = ptr(full.ExpiresAt.UTC())
		for _, want := range []*amp.APIKey{bare, &wantFull} {
			got, err := st.Key(t.Context(), want.ID)
			noErr(t, "Key "+want.ID, err)
			checkKey(t, "Key "+want.ID, got, want)
			got, err = st.KeyByHash(t.Context(), want.Hash)
			noErr(t, "KeyByHash "+want.ID, err)
			checkKey(t, "KeyByHash "+want.ID, got, want)
		}
	})

	t.Run("DuplicateID", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		k := newKey("key_dup00001", tenantA, at(0))
		noErr(t, "CreateKey", st.CreateKey(t.Context(), k))
		dup := newKey("key_dup00001", tenantB, at(time.Hour))
		dup.Hash = amp.HashKey("another secret")
		wantErr(t, "CreateKey with an existing id", st.CreateKey(t.Context(), dup), amp.ErrConflict)
		_, err := st.KeyByHash(t.Context(), dup.Hash)
		wantErr(t, "KeyByHash of the refused key", err, amp.ErrNotFound)
		got, err := st.Key(t.Context(), k.ID)
		noErr(t, "Key", err)
		checkKey(t, "Key after the refused duplicate", got, k)
	})

	t.Run("DuplicateHash", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		k := newKey("key_hash0001", tenantA, at(0))
		noErr(t, "CreateKey", st.CreateKey(t.Context(), k))
		dup := newKey("key_hash0002", tenantB, at(time.Hour))
		dup.Hash = k.Hash
		wantErr(t, "CreateKey with an existing hash", st.CreateKey(t.Context(), dup), amp.ErrConflict)
		_, err := st.Key(t.Context(), dup.ID)
		wantErr(t, "Key of the refused key", err, amp.ErrNotFound)
		got, err := st.KeyByHash(t.Context(), k.Hash)
		noErr(t, "KeyByHash", err)
		checkKey(t, "KeyByHash after the refused duplicate", got, k)
	})

	t.Run("UnknownAccount", func(t *testing.T) {
		// A key belongs to an existing account: the suite fixes that a key
		// of an unknown account is refused with ErrNotFound.
		st := s.newStore(t)
		k := newKey("key_orphan01", amp.Tenant{AccountID: "acct_missing", Mode: amp.ModeLive}, at(0))
		wantErr(t, "CreateKey of an unknown account", st.CreateKey(t.Context(), k), amp.ErrNotFound)
		_, err := st.Key(t.Context(), k.ID)
		wantErr(t, "Key of the refused key", err, amp.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		_, err := st.Key(t.Context(), "key_missing1")
		wantErr(t, "Key of an unknown id", err, amp.ErrNotFound)
		_, err = st.KeyByHash(t.Context(), amp.HashKey("unknown"))
		wantErr(t, "KeyByHash of an unknown hash", err, amp.ErrNotFound)
		err = st.UpdateKey(t.Context(), newKey("key_missing1", tenantA, at(0)))
		wantErr(t, "UpdateKey of an unknown id", err, amp.ErrNotFound)
		err = st.TouchKey(t.Context(), "key_missing1", at(0))
		wantErr(t, "TouchKey of an unknown id", err, amp.ErrNotFound)
		keys, err := st.Keys(t.Context(), tenantA.AccountID)
		noErr(t, "Keys", err)
		if len(keys) != 0 {
			t.Errorf("Keys: got %d, want 0 (UpdateKey and TouchKey must not create)", len(keys))
		}
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		for _, k := range []*amp.APIKey{
			newKey("key_a_live_3", tenantA, at(3*time.Hour)),
			newKey("key_b_live_1", tenantB, at(time.Hour)),
			newKey("key_a_test_1", tenantATest, at(time.Hour)),
			newKey("key_a_live_2", tenantA, at(2*time.Hour)),
			newKey("key_b_test_0", tenantBTest, at(0)),
		} {
			noErr(t, "CreateKey "+k.ID, st.CreateKey(t.Context(), k))
		}
		keys, err := st.Keys(t.Context(), tenantA.AccountID)
		noErr(t, "Keys", err)
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		// Both modes, only this account, oldest first.
		if want := []string{"key_a_test_1", "key_a_live_2", "key_a_live_3"}; !slices.Equal(ids, want) {
			t.Fatalf("Keys of account A: got %q, want %q", ids, want)
		}
		checkKey(t, "Keys[0]", keys[0], newKey("key_a_test_1", tenantATest, at(time.Hour)))
		keys, err = st.Keys(t.Context(), "acct_missing")
		noErr(t, "Keys of an unknown account", err)
		if len(keys) != 0 {
			t.Errorf("Keys of an unknown account: got %d keys, want 0", len(keys))
		}
	})

	t.Run("Update", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		k := newKey("key_upd00001", tenantA, at(0))
		k.LastUsedAt = ptr(at(time.Minute))
		other := newKey("key_oth00001", tenantA, at(time.Second))
		for _, k := range []*amp.APIKey{k, other} {
			noErr(t, "CreateKey "+k.ID, st.CreateKey(t.Context(), k))
		}

		upd := *k
		upd.Name = "renamed"
		upd.Scopes = []amp.Scope{amp.ScopeProfilesRead, amp.ScopeContext}
		upd.RateLimit = 7
		upd.ExpiresAt = ptr(at(24 * time.Hour))
		upd.RevokedAt = ptr(at(time.Hour).In(elsewhere))
		// UpdateKey stores only name, scopes, rate limit, expiry and
		// revocation: the identity, hash and times of use stay as they are
		// (a stale LastUsedAt must not undo a concurrent TouchKey).
		upd.Hash = amp.HashKey("changed")
		upd.Last4 = "zzzz"
		upd.LastUsedAt = ptr(at(-time.Hour))
		noErr(t, "UpdateKey", st.UpdateKey(t.Context(), &upd))

		want := *k
		want.Name, want.Scopes, want.RateLimit = "renamed", upd.Scopes, 7
		want.ExpiresAt = ptr(at(24 * time.Hour))
		want.RevokedAt = ptr(at(time.Hour))
		got, err := st.Key(t.Context(), k.ID)
		noErr(t, "Key", err)
		checkKey(t, "updated Key", got, &want)
		got, err = st.KeyByHash(t.Context(), k.Hash)
		noErr(t, "KeyByHash of the original hash", err)
		checkKey(t, "updated KeyByHash", got, &want)

		// Expiry and revocation can be cleared again.
		upd2 := want
		upd2.ExpiresAt, upd2.RevokedAt = nil, nil
		upd2.Scopes = []amp.Scope{amp.ScopeOutcome}
		noErr(t, "UpdateKey clearing expiry and revocation", st.UpdateKey(t.Context(), &upd2))
		got, err = st.Key(t.Context(), k.ID)
		noErr(t, "Key", err)
		checkKey(t, "Key with expiry and revocation cleared", got, &upd2)

		got, err = st.Key(t.Context(), other.ID)
		noErr(t, "Key", err)
		checkKey(t, "other Key", got, other)
	})

	t.Run("TouchKeyOnlyMovesForward", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		k := newKey("key_touch001", tenantA, at(0))
		noErr(t, "CreateKey", st.CreateKey(t.Context(), k))
		steps := []struct {
			at, want time.Time
		}{
			{at(time.Hour), at(time.Hour)},                       // first use
			{at(30 * time.Minute), at(time.Hour)},                // earlier: ignored
			{at(time.Hour), at(time.Hour)},                       // same: unchanged
			{at(2 * time.Hour).In(elsewhere), at(2 * time.Hour)}, // later: moves
			{at(2*time.Hour + time.Millisecond), at(2*time.Hour + time.Millisecond)},
		}
		for i, step := range steps {
			noErr(t, "TouchKey", st.TouchKey(t.Context(), k.ID, step.at))
			got, err := st.Key(t.Context(), k.ID)
			noErr(t, "Key", err)
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(step.want) || got.LastUsedAt.Location() != time.UTC {
				t.Fatalf("step %d: after TouchKey(%v): LastUsedAt = %v, want %v in UTC", i, step.at, got.LastUsedAt, step.want)
			}
		}
	})
}

func (s *suite) testRollKey(t *testing.T) {
	// roll sets up an account with the key to roll and a bystander key,
	// and returns them with the replacement, not yet stored.
	roll := func(t *testing.T) (st *store, old, other, next *amp.APIKey) {
		st = s.newStore(t)
		setupAccounts(t, st)
		old = newKey("key_roll_old", tenantA, at(0))
		old.Name, old.RateLimit, old.LastUsedAt = "ci", 9, ptr(at(time.Minute))
		other = newKey("key_roll_oth", tenantA, at(time.Second))
		for _, k := range []*amp.APIKey{old, other} {
			noErr(t, "CreateKey "+k.ID, st.CreateKey(t.Context(), k))
		}
		next = newKey("key_roll_new", tenantA, at(time.Hour))
		next.Name, next.RateLimit, next.RolledFrom = "ci", 9, old.ID
		return st, old, other, next
	}

	t.Run("Roll", func(t *testing.T) {
		st, old, _, next := roll(t)
		arg := *old
		arg.ExpiresAt = ptr(at(25 * time.Hour).In(elsewhere))
		// Only the expiry is stored: a stale copy of the old key must not
		// undo a concurrent rename or TouchKey.
		arg.Name, arg.LastUsedAt = "stale", nil
		noErr(t, "RollKey", st.RollKey(t.Context(), &arg, next))
		want := *old
		want.ExpiresAt, want.RolledTo = ptr(at(25*time.Hour)), next.ID
		got, err := st.Key(t.Context(), old.ID)
		noErr(t, "Key of the old key", err)
		checkKey(t, "rolled key", got, &want)
		got, err = st.KeyByHash(t.Context(), next.Hash)
		noErr(t, "KeyByHash of the new key", err)
		checkKey(t, "new key", got, next)
	})

	// Each failure comes at a different point of the roll: whichever
	// order a backend writes the two rows in, one of them fails after the
	// first write, which must be undone, leaving exactly the keys there
	// were.
	for _, c := range []struct {
		name string
		// spoil makes the roll fail and returns the old key as the caller
		// passes it.
		spoil func(t *testing.T, st *store, old, other, next *amp.APIKey) *amp.APIKey
		want  error
	}{
		{"NewHashTaken", func(_ *testing.T, _ *store, old, other, next *amp.APIKey) *amp.APIKey {
			next.Hash = other.Hash
			return old
		}, amp.ErrConflict},
		{"NewIDTaken", func(_ *testing.T, _ *store, old, other, next *amp.APIKey) *amp.APIKey {
			next.ID = other.ID
			return old
		}, amp.ErrConflict},
		{"OldMissing", func(*testing.T, *store, *amp.APIKey, *amp.APIKey, *amp.APIKey) *amp.APIKey {
			return newKey("key_roll_gho", tenantA, at(0))
		}, amp.ErrNotFound},
		{"OldRevokedMeanwhile", func(t *testing.T, st *store, old, _, _ *amp.APIKey) *amp.APIKey {
			revoked := *old
			revoked.RevokedAt = ptr(at(30 * time.Minute))
			noErr(t, "UpdateKey revoking", st.UpdateKey(t.Context(), &revoked))
			return old // as the caller read it, before the revocation
		}, amp.ErrConflict},
		{"OldRolledMeanwhile", func(t *testing.T, st *store, old, _, _ *amp.APIKey) *amp.APIKey {
			first := newKey("key_roll_fst", tenantA, at(30*time.Minute))
			first.RolledFrom = old.ID
			arg := *old
			arg.ExpiresAt = ptr(at(2 * time.Hour))
			noErr(t, "the first RollKey", st.RollKey(t.Context(), &arg, first))
			return old // as the second caller read it, before the first roll
		}, amp.ErrConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, old, other, next := roll(t)
			arg := *c.spoil(t, st, old, other, next)
			arg.ExpiresAt = ptr(at(25 * time.Hour))
			before, err := st.Keys(t.Context(), tenantA.AccountID)
			noErr(t, "Keys", err)
			wantErr(t, "RollKey", st.RollKey(t.Context(), &arg, next), c.want)
			after, err := st.Keys(t.Context(), tenantA.AccountID)
			noErr(t, "Keys after the failed roll", err)
			if len(after) != len(before) {
				t.Fatalf("after a failed roll: %d keys, want the %d there were", len(after), len(before))
			}
			for i := range before {
				checkKey(t, "key after a failed roll", after[i], before[i])
			}
		})
	}
}
