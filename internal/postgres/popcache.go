package postgres

import (
	"sync"
	"time"

	amp "github.com/amp-protocol/amp"
)

// The population cache. Every /v1/context reads its tenant's population,
// but a population changes only when FoldPopulation folds its queued
// deltas, about once a second (see the package doc): so each instance
// keeps what it read for populationTTL, sparing a round trip per request.
// A fold by this instance replaces its entry at once; one by another
// instance shows here within populationTTL, which is within the fold's
// own lag.
const (
	populationTTL        = time.Second
	maxCachedPopulations = 4096
)

type popCache struct {
	mu sync.Mutex
	m  map[amp.Tenant]popEntry
}

type popEntry struct {
	pop *amp.PopulationRecord // never modified; handed out as copies
	at  time.Time             // when it was read, with its monotonic clock
}

// get returns a copy of t's population if one was read within
// populationTTL.
func (c *popCache) get(t amp.Tenant) *amp.PopulationRecord {
	c.mu.Lock()
	e, ok := c.m[t]
	c.mu.Unlock()
	if !ok || time.Since(e.at) >= populationTTL {
		return nil
	}
	return copyPopulation(e.pop)
}

// put caches a copy of pop, read or written at the moment at.
func (c *popCache) put(pop *amp.PopulationRecord, at time.Time) {
	p := copyPopulation(pop)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPopulations {
		// Rarely full (a population per tenant): starting over is simpler
		// than choosing what to evict, and costs one read per tenant.
		c.m = make(map[amp.Tenant]popEntry)
	}
	if old, ok := c.m[pop.Tenant]; ok && old.at.After(at) {
		return // a newer read or fold got here first
	}
	c.m[pop.Tenant] = popEntry{pop: p, at: at}
}

// clear forgets every population.
func (c *popCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func copyPopulation(p *amp.PopulationRecord) *amp.PopulationRecord {
	c := *p
	if p.Model != nil {
		c.Model = append([]byte{}, p.Model...)
	}
	return &c
}
