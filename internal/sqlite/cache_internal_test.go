package sqlite

import (
	"strconv"
	"testing"
)

func TestClockCacheBound(t *testing.T) {
	c := newClockCache[string, int](2 * cacheShards)
	for i := range 1000 {
		v := i
		c.set(strconv.Itoa(i), &v)
	}
	if n := c.len(); n > 2*cacheShards {
		t.Fatalf("%d entries cached, want at most %d", n, 2*cacheShards)
	}
	// The most recent set is always there.
	if v, _ := c.get("999"); v == nil || *v != 999 {
		t.Fatalf("get(999) = %v", v)
	}
}

func TestClockCacheSecondChance(t *testing.T) {
	c := newClockCache[int, int](cacheShards) // one entry per shard…
	sh := c.shard(0)
	sh.max = 2 // …but two in this one, for the test
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
	c := newClockCache[string, int](100)
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
