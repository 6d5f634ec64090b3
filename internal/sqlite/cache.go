package sqlite

import (
	"hash/maphash"
	"sync"

	"github.com/amp-protocol/amp"
)

// The learning cache (WithCacheBytes) keeps profile and population rows in
// memory, so that the read of every /v1/context skips SQLite, and the
// decisions most recently saved, so that the read of an outcome reported
// soon after its /v1/context skips it too.
//
// Why: in WAL mode every commit of the writer makes each read connection
// drop its page cache, and the writer commits thousands of times a second
// under load, so nearly every profile read went back to the file (pread)
// for pages it had read a moment before. The rows are small and few are
// hot (the tenant's population above all, read by every request).
//
// Soundness rests on two rules:
//
//   - Only this process writes learning rows to the file (WithCacheBytes takes an
//     exclusive lock next to the database, see lock_unix.go); admin commands
//     in other processes write accounts, keys and settings only, which are
//     not cached.
//   - The cache changes only after the transaction that changed the rows
//     has committed (op.onCommit, run by the writer goroutine before it
//     answers the writes). A write rolled back, or retried, leaves it as it
//     was.
//
// A reader that misses reads the row from SQLite and offers it to the
// cache; the offer is refused if the writer changed anything in that shard
// meanwhile (the shard's generation moved), since the row read may then be
// older than what the writer just put in or took out.
//
// The cached records are never modified: a hit returns a copy.

// profileKey identifies a profile row.
type profileKey struct {
	amp.Tenant
	userID string
}

const cacheShards = 16

// clockCache is a map from K to immutable *V bounded by bytes, split into
// shards each under its own mutex with an equal share of the budget,
// evicting by the clock (second chance) algorithm: an entry read since the
// hand last passed it is spared once. What an entry costs is the caller's
// estimate (cost), which must cover everything the entry keeps alive; an
// entry costing more than a shard's share is not cached at all.
type clockCache[K comparable, V any] struct {
	seed   maphash.Seed
	cost   func(K, *V) int64
	shards [cacheShards]cacheShard[K, V]
}

type cacheShard[K comparable, V any] struct {
	mu       sync.Mutex
	gen      uint64 // bumped by every change the writer makes
	maxBytes int64
	bytes    int64 // the cost of the entries held
	m        map[K]*cacheEntry[K, V]
	ring     []*cacheEntry[K, V] // the entries in clock order
	hand     int
}

type cacheEntry[K comparable, V any] struct {
	key  K
	val  *V
	cost int64
	ref  bool // read since the hand last passed
	idx  int  // position in ring
}

// newClockCache returns a cache holding entries of at most maxBytes in all,
// as cost counts them.
func newClockCache[K comparable, V any](maxBytes int64, cost func(K, *V) int64) *clockCache[K, V] {
	c := &clockCache[K, V]{seed: maphash.MakeSeed(), cost: cost}
	per := max(0, maxBytes/cacheShards)
	for i := range c.shards {
		c.shards[i].maxBytes = per
		c.shards[i].m = make(map[K]*cacheEntry[K, V])
	}
	return c
}

func (c *clockCache[K, V]) shard(k K) *cacheShard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)%cacheShards]
}

// get returns the cached value of k and the shard's generation, to pass to
// offer after reading the row on a miss.
func (c *clockCache[K, V]) get(k K) (v *V, gen uint64) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok {
		e.ref = true
		return e.val, s.gen
	}
	return nil, s.gen
}

// offer caches v, read from the database, unless the writer changed the
// shard since get returned gen.
func (c *clockCache[K, V]) offer(k K, v *V, gen uint64) {
	cost := c.cost(k, v)
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.put(k, v, cost)
	}
}

// set caches v as k's committed value; writer goroutine only, after the
// commit.
func (c *clockCache[K, V]) set(k K, v *V) {
	cost := c.cost(k, v)
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.put(k, v, cost)
}

// del forgets k; writer goroutine only, after the commit.
func (c *clockCache[K, V]) del(k K) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if e, ok := s.m[k]; ok {
		s.remove(e)
	}
}

// deleteIf forgets every entry whose value drop reports true; writer
// goroutine only, after the commit. It visits every entry: it is for rare
// writes.
func (c *clockCache[K, V]) deleteIf(drop func(*V) bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.gen++
		for j := 0; j < len(s.ring); {
			if e := s.ring[j]; drop(e.val) {
				s.remove(e) // moves the last entry to j
				continue
			}
			j++
		}
		s.mu.Unlock()
	}
}

// clear forgets everything; writer goroutine only, after the commit.
func (c *clockCache[K, V]) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.gen++
		clear(s.m)
		clear(s.ring)
		s.ring = s.ring[:0]
		s.hand = 0
		s.bytes = 0
		s.mu.Unlock()
	}
}

// len returns the number of entries; for tests.
func (c *clockCache[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// size returns the cost of the entries held, in bytes.
func (c *clockCache[K, V]) size() int64 {
	var n int64
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.bytes
		s.mu.Unlock()
	}
	return n
}

func (s *cacheShard[K, V]) put(k K, v *V, cost int64) {
	e, ok := s.m[k]
	if cost > s.maxBytes {
		// Too big to cache: what was cached under k is stale now.
		if ok {
			s.remove(e)
		}
		return
	}
	if ok {
		s.bytes += cost - e.cost
		e.val, e.cost, e.ref = v, cost, true
	} else {
		e = &cacheEntry[K, V]{key: k, val: v, cost: cost, idx: len(s.ring)}
		s.ring = append(s.ring, e)
		s.m[k] = e
		s.bytes += cost
	}
	// Over budget: the hand clears reference bits until it finds entries
	// not read since its last pass, and evicts them until the shard fits.
	// The entry just put is never the one evicted; since it fits alone,
	// others remain while the shard is over.
	for s.bytes > s.maxBytes {
		if s.hand >= len(s.ring) {
			s.hand = 0
		}
		old := s.ring[s.hand]
		if old == e {
			s.hand++
			continue
		}
		if old.ref {
			old.ref = false
			s.hand++
			continue
		}
		s.remove(old) // the last entry moves into the hand's slot
	}
}

func (s *cacheShard[K, V]) remove(e *cacheEntry[K, V]) {
	delete(s.m, e.key)
	s.bytes -= e.cost
	last := len(s.ring) - 1
	if e.idx != last {
		moved := s.ring[last]
		s.ring[e.idx] = moved
		moved.idx = e.idx
	}
	s.ring[last] = nil
	s.ring = s.ring[:last]
}

// learningCache holds the profile and population rows of the store, as
// they read from the database. A cached profile with a nil row is a user
// known to have none; a population with a nil Model, a tenant with none.
//
// decisions holds decisions saved by this process that have no outcome
// yet, by request id: RecordOutcome learns from the cached decision and
// profile without reading either, and the writer's check before the
// outcome's write (the profile's version, the decision still there with
// the same time, no outcome stored) catches whatever changed since. Deleting a user forgets
// the user's decisions, so that an outcome for one is refused before
// learning, as it is when read.
type learningCache struct {
	profiles    *clockCache[profileKey, cachedProfile]
	populations *clockCache[amp.Tenant, amp.PopulationRecord]
	decisions   *clockCache[string, amp.Decision]
}

// cachedProfile is a profile row with its version (profiles.version), or
// its absence (p == nil).
type cachedProfile struct {
	p       *amp.ProfileRecord
	version int64
}

// newLearningCache returns a cache of at most maxBytes: an eighth for the
// populations (one per tenant, read by every request of the tenant), an
// eighth for the decisions awaiting their outcomes, the rest for profiles.
func newLearningCache(maxBytes int64) *learningCache {
	pop, dec := maxBytes/8, maxBytes/8
	return &learningCache{
		profiles:    newClockCache(maxBytes-pop-dec, profileCost),
		populations: newClockCache(pop, populationCost),
		decisions:   newClockCache(dec, decisionCost),
	}
}

// size is the cost of everything cached, in bytes.
func (lc *learningCache) size() int64 {
	return lc.profiles.size() + lc.populations.size() + lc.decisions.size()
}

// What an entry costs beyond the bytes of its strings and slices: the map
// slot, the ring slot, the entry, the record and its times, with room to
// spare (TestCacheMemoryBound measures that the estimate covers the heap
// the cache takes).
const (
	profileOverhead    = 512
	populationOverhead = 256
	decisionOverhead   = 384
)

// profileCost is what a cached profile keeps alive, in bytes: the strings
// of its key (which the record shares), and the capacity of its model and
// metadata, which Validate bounds (16 KiB of metadata at most).
func profileCost(k profileKey, c *cachedProfile) int64 {
	n := int64(profileOverhead + len(k.AccountID) + len(k.Mode) + len(k.userID))
	if p := c.p; p != nil {
		n += int64(cap(p.Model) + cap(p.Metadata))
		if p.Manual != nil {
			n += 128
		}
	}
	return n
}

// decisionCost is what a cached decision keeps alive: its own strings (the
// recommendation's are the enums' constants, shared).
func decisionCost(id string, d *amp.Decision) int64 {
	return int64(decisionOverhead + len(id) + len(d.RequestID) + len(d.AccountID) + len(d.Mode) + len(d.UserID) + len(d.TaskType) + len(d.TaskComplexity))
}

func populationCost(t amp.Tenant, p *amp.PopulationRecord) int64 {
	return int64(populationOverhead + len(t.AccountID) + len(t.Mode) + cap(p.Model))
}

// setProfile caches p, which was just committed under k with that
// version; writer goroutine only, after the commit. p is copied, so the
// caller may keep using it.
func (lc *learningCache) setProfile(k profileKey, p *amp.ProfileRecord, version int64) {
	lc.setStoredProfile(k, storedProfile(k, p), version)
}

// setStoredProfile caches c, a result of storedProfile, with its version;
// nil forgets k.
func (lc *learningCache) setStoredProfile(k profileKey, c *amp.ProfileRecord, version int64) {
	if c == nil {
		lc.profiles.del(k)
		return
	}
	lc.profiles.set(k, &cachedProfile{p: c, version: version})
}

// storedDecision returns a copy of d as it will read back from the
// database: its time in UTC to the microsecond.
func storedDecision(d *amp.Decision) *amp.Decision {
	c := *d
	c.CreatedAt = asStored(d.CreatedAt)
	return &c
}

// storedProfile returns a copy of p as it will read back from the database
// once stored under k: times in UTC to the microsecond, empty metadata as
// none. It returns nil for a model that is empty but not nil, since how
// that reads back (nil or empty) is the driver's business: such a profile
// is not cached.
func storedProfile(k profileKey, p *amp.ProfileRecord) *amp.ProfileRecord {
	if p.Model != nil && len(p.Model) == 0 {
		return nil
	}
	c := &amp.ProfileRecord{
		Tenant:       k.Tenant,
		UserID:       k.userID,
		Model:        cloneBytes(p.Model),
		Metadata:     decJSON(cloneBytes(p.Metadata)),
		OutcomeCount: p.OutcomeCount,
		CreatedAt:    asStored(p.CreatedAt),
		UpdatedAt:    asStored(p.UpdatedAt),
	}
	if m := p.Manual; m != nil {
		mc := *m
		mc.SetAt = asStored(m.SetAt)
		c.Manual = &mc
	}
	return c
}

// setPopulation caches pop, just committed for t, as it will read back.
func (lc *learningCache) setPopulation(t amp.Tenant, pop *amp.PopulationRecord) {
	if pop.Model != nil && len(pop.Model) == 0 {
		lc.populations.del(t)
		return
	}
	lc.populations.set(t, &amp.PopulationRecord{Tenant: t, Model: cloneBytes(pop.Model), UpdatedAt: asStored(pop.UpdatedAt)})
}

// copyProfile returns a copy of the cached p that the caller may modify.
func copyProfile(p *amp.ProfileRecord) *amp.ProfileRecord {
	c := *p
	c.Model = cloneBytes(p.Model)
	c.Metadata = cloneBytes(p.Metadata)
	if p.Manual != nil {
		m := *p.Manual
		c.Manual = &m
	}
	return &c
}

func copyPopulation(p *amp.PopulationRecord) *amp.PopulationRecord {
	c := *p
	c.Model = cloneBytes(p.Model)
	return &c
}

// cloneBytes copies b, keeping nil nil.
func cloneBytes[B ~[]byte](b B) B {
	if b == nil {
		return nil
	}
	return append(B{}, b...)
}
