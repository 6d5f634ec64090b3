package sqlite

import (
	"hash/maphash"
	"sync"

	"github.com/amp-protocol/amp"
)

// The learning cache (WithCache) keeps profile and population rows in
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
//   - Only this process writes learning rows to the file (WithCache takes an
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

// clockCache is a bounded map from K to immutable *V, split into shards
// each under its own mutex, evicting by the clock (second chance)
// algorithm: an entry read since the hand last passed it is spared once.
type clockCache[K comparable, V any] struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard[K, V]
}

type cacheShard[K comparable, V any] struct {
	mu   sync.Mutex
	gen  uint64 // bumped by every change the writer makes
	max  int
	m    map[K]*cacheEntry[K, V]
	ring []*cacheEntry[K, V] // the entries in clock order
	hand int
}

type cacheEntry[K comparable, V any] struct {
	key K
	val *V
	ref bool // read since the hand last passed
	idx int  // position in ring
}

// newClockCache returns a cache of at most about n entries (at least one
// per shard).
func newClockCache[K comparable, V any](n int) *clockCache[K, V] {
	c := &clockCache[K, V]{seed: maphash.MakeSeed()}
	per := max(1, (n+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i].max = per
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
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.put(k, v)
	}
}

// set caches v as k's committed value; writer goroutine only, after the
// commit.
func (c *clockCache[K, V]) set(k K, v *V) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.put(k, v)
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

func (s *cacheShard[K, V]) put(k K, v *V) {
	if e, ok := s.m[k]; ok {
		e.val, e.ref = v, true
		return
	}
	e := &cacheEntry[K, V]{key: k, val: v}
	if len(s.ring) < s.max {
		e.idx = len(s.ring)
		s.ring = append(s.ring, e)
		s.m[k] = e
		return
	}
	// Full: the hand clears reference bits until it finds an entry not
	// read since its last pass, and the new entry takes that one's slot.
	for {
		if s.hand >= len(s.ring) {
			s.hand = 0
		}
		old := s.ring[s.hand]
		if old.ref {
			old.ref = false
			s.hand++
			continue
		}
		delete(s.m, old.key)
		e.idx = s.hand
		s.ring[s.hand] = e
		s.m[k] = e
		s.hand++
		return
	}
}

func (s *cacheShard[K, V]) remove(e *cacheEntry[K, V]) {
	delete(s.m, e.key)
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

// Populations are one per tenant; this many are kept at most.
const maxCachedPopulations = 4096

// maxCachedDecisions bounds the decisions cache: at about 400 bytes each
// (entry and strings included), some 25 MiB, a minute of /v1/context at
// a thousand a second.
const maxCachedDecisions = 1 << 16

func newLearningCache(profiles int) *learningCache {
	return &learningCache{
		profiles:    newClockCache[profileKey, cachedProfile](profiles),
		populations: newClockCache[amp.Tenant, amp.PopulationRecord](min(profiles, maxCachedPopulations)),
		decisions:   newClockCache[string, amp.Decision](min(profiles, maxCachedDecisions)),
	}
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
