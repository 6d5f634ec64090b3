package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// unitCost weighs every entry 100 bytes.
func unitCost[K comparable](K, *int) int64 { return 100 }

func TestClockCacheBound(t *testing.T) {
	c := newClockCache(2*cacheShards*100, unitCost[string]) // two entries per shard
	for i := range 1000 {
		v := i
		c.set(strconv.Itoa(i), &v)
	}
	if n := c.len(); n > 2*cacheShards {
		t.Fatalf("%d entries cached, want at most %d", n, 2*cacheShards)
	}
	if b := c.size(); b > 2*cacheShards*100 {
		t.Fatalf("%d bytes cached, want at most %d", b, 2*cacheShards*100)
	}
	// The most recent set is always there.
	if v, _ := c.get("999"); v == nil || *v != 999 {
		t.Fatalf("get(999) = %v", v)
	}
}

func TestClockCacheSecondChance(t *testing.T) {
	c := newClockCache(cacheShards*100, unitCost[int]) // one entry per shard…
	sh := c.shard(0)
	sh.maxBytes = 200 // …but two in this one, for the test
	// Keys that land in the shard of 0.
	var keys []int
	for k := 0; len(keys) < 3; k++ {
		if c.shard(k) == sh {
			keys = append(keys, k)
		}
	}
	a, b, x := keys[0], keys[1], keys[2]
	one := 1
	c.set(a, &one)
	c.set(b, &one)
	// Start with no reference bit set.
	sh.mu.Lock()
	for _, e := range sh.ring {
		e.ref = false
	}
	sh.mu.Unlock()
	c.get(a) // a is read, b is not: b goes first
	c.set(x, &one)
	if v, _ := c.get(a); v == nil {
		t.Error("a, read since the hand passed, was evicted")
	}
	if v, _ := c.get(b); v != nil {
		t.Error("b, not read, was kept over a")
	}
	if v, _ := c.get(x); v == nil {
		t.Error("x, just set, is missing")
	}
}

func TestClockCacheOfferAfterChange(t *testing.T) {
	c := newClockCache(100*cacheShards*100, unitCost[string])
	v0, v1 := 0, 1
	// A reader misses and reads v0 from the database; meanwhile the writer
	// commits v1 and sets it. The reader's offer of v0 must be refused.
	if v, gen := c.get("k"); v == nil {
		c.set("k", &v1)
		c.offer("k", &v0, gen)
	}
	if v, _ := c.get("k"); v == nil || *v != 1 {
		t.Fatalf("get = %v, want 1", v)
	}
	// Likewise after a delete: the reader must not bring the row back.
	_, gen := c.get("k")
	c.del("k")
	c.offer("k", &v0, gen)
	if v, _ := c.get("k"); v != nil {
		t.Fatalf("get = %v after delete, want nothing", *v)
	}
	// With no change meanwhile, the offer is taken.
	_, gen = c.get("k")
	c.offer("k", &v0, gen)
	if v, _ := c.get("k"); v == nil || *v != 0 {
		t.Fatalf("get = %v, want 0", v)
	}
	c.clear()
	if n := c.len(); n != 0 {
		t.Fatalf("%d entries after clear", n)
	}
}

// worstProfile is a profile as large as the API lets a client make one: a
// userId of amp.MaxUserIDBytes, metadata of amp.MaxMetadataBytes, manual
// preferences, and a model of modelBytes.
func worstProfile(i, modelBytes int) (profileKey, *amp.ProfileRecord) {
	id := fmt.Sprintf("%08d", i) + strings.Repeat("u", amp.MaxUserIDBytes-8)
	meta := `{"k":"` + strings.Repeat("m", amp.MaxMetadataBytes-len(`{"k":""}`)) + `"}`
	k := profileKey{Tenant: amp.Tenant{AccountID: "acct_0123456789abcdef", Mode: amp.ModeLive}, userID: id}
	now := time.Unix(1700000000, 0)
	return k, &amp.ProfileRecord{
		Tenant: k.Tenant, UserID: id,
		Model:     bytes.Repeat([]byte{7}, modelBytes),
		Metadata:  json.RawMessage(meta),
		Manual:    &amp.Preferences{Framing: amp.FramingChallenge, Style: amp.StyleTechnical, SetAt: now},
		CreatedAt: now, UpdatedAt: now,
	}
}

// TestCacheMemoryBound fills the cache with worst-case profiles, three
// times its budget's worth, and checks that what it holds stays within the
// budget both as counted and as measured on the heap.
func TestCacheMemoryBound(t *testing.T) {
	const budget = 32 << 20
	const modelBytes = 4 << 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lc := newLearningCache(budget)
	_, p := worstProfile(0, modelBytes)
	per := profileCost(profileKey{userID: p.UserID, Tenant: p.Tenant}, &cachedProfile{p: storedProfile(profileKey{p.Tenant, p.UserID}, p)})
	n := int(3 * budget / per)
	for i := range n {
		k, p := worstProfile(i, modelBytes)
		lc.setProfile(k, p, 1)
		if i%97 == 0 {
			lc.profiles.get(k) // some are read, as a hot set would be
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := lc.size()
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d worst-case profiles of %d bytes each offered; %d cached, %d bytes counted, %d bytes of heap",
		n, per, lc.profiles.len(), held, heap)
	if held > budget {
		t.Errorf("%d bytes counted, over the budget of %d", held, budget)
	}
	if lc.profiles.len() == 0 || held < budget/2 {
		t.Errorf("%d bytes counted in %d entries: the cache should be nearly full", held, lc.profiles.len())
	}
	// The estimate covers what the entries really take (with 1 MiB for the
	// shards' maps and rings growing in steps).
	if heap > budget+1<<20 {
		t.Errorf("the cache takes %d bytes of heap, over its budget of %d: the cost estimate is too low", heap, budget)
	}
	runtime.KeepAlive(lc)
}

// TestCachedOutcomeRead follows a user's profile through the writes that
// change it and checks that the cache holds each decision until its
// outcome and each profile at its stored version: an outcome learned from
// the cache then commits at the first attempt.
func TestCachedOutcomeRead(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, filepath.Join(t.TempDir(), "amp.db"), WithCacheBytes(1<<20))
	const user = "user_v"
	dec := func(id string) *amp.Decision {
		d := decision(id)
		d.UserID = user
		return d
	}
	storedVersion := func() int64 {
		t.Helper()
		var v int64
		if err := db.rdb.QueryRowContext(ctx, "SELECT version FROM profiles WHERE account_id = ? AND mode = ? AND user_id = ?",
			tenant.AccountID, string(tenant.Mode), user).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	checkCached := func(id string, wantCount int) {
		t.Helper()
		r := db.cachedOutcomeRead(tenant, id)
		if r == nil {
			t.Fatalf("%s: not read from the cache", id)
		}
		if want := storedVersion(); !r.version.Valid || r.version.Int64 != want {
			t.Errorf("%s: cached profile version %v, stored %d", id, r.version, want)
		}
		if r.p.OutcomeCount != wantCount || r.d.UserID != user || r.already {
			t.Errorf("%s: cached read %+v, profile %+v", id, r.d, r.p)
		}
	}
	calls := 0
	apply := func(d *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		calls++
		p.OutcomeCount++
		p.UpdatedAt = t0
		return &amp.OutcomeRecord{Started: true, ReportedAt: t0}, []byte{1}, nil
	}
	record := func(id string) {
		t.Helper()
		calls = 0
		if _, err := db.RecordOutcome(ctx, tenant, id, apply); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("%s: apply ran %d times, want 1 (a cached version behind the stored one makes it run again)", id, calls)
		}
		if r := db.cachedOutcomeRead(tenant, id); r != nil {
			t.Errorf("%s: still cached after its outcome", id)
		}
	}

	if err := db.SaveDecision(ctx, dec("req_1"), &amp.ProfileRecord{CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	checkCached("req_1", 0)
	record("req_1")
	if err := db.SaveDecision(ctx, dec("req_2"), nil); err != nil {
		t.Fatal(err)
	}
	checkCached("req_2", 1)
	if _, err := db.UpdateProfile(ctx, tenant, user, func(p *amp.ProfileRecord, created bool) error {
		p.Metadata = []byte(`{"plan":"x"}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkCached("req_2", 1)
	record("req_2")

	// A deleted user's decisions leave the cache with the rows.
	if err := db.SaveDecision(ctx, dec("req_3"), nil); err != nil {
		t.Fatal(err)
	}
	other := decision("req_other") // another user's, which stays
	if err := db.SaveDecision(ctx, other, &amp.ProfileRecord{CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteProfile(ctx, tenant, user); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.cache.decisions.get("req_3"); d != nil {
		t.Error("req_3: cached after its user was deleted")
	}
	if db.cachedOutcomeRead(tenant, "req_other") == nil {
		t.Error("req_other: another user's decision left the cache")
	}
	// A cached decision is only read under its own tenant.
	if db.cachedOutcomeRead(amp.Tenant{AccountID: tenant.AccountID, Mode: amp.ModeTest}, "req_other") != nil {
		t.Error("req_other: read from the cache under another tenant")
	}

	// A decision's time changed behind the cache's back (as the SDKs'
	// suites age a decision past its 24 hours) is seen by the outcome.
	earlier := t0.Add(-25 * time.Hour)
	if err := db.write(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(ctx, "UPDATE decisions SET created_at = ? WHERE request_id = 'req_other'", encTime(earlier))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var seen []time.Time
	if _, err := db.RecordOutcome(ctx, tenant, "req_other", func(d *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		seen = append(seen, d.CreatedAt)
		return &amp.OutcomeRecord{Started: true, ReportedAt: t0}, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || !seen[len(seen)-1].Equal(earlier) {
		t.Errorf("req_other: the outcome was stored from decisions of %v, want the last at %v", seen, earlier)
	}
}
