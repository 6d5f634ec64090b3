package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
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
		lc.setProfile(k, p)
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
