package webhook

import (
	"sync"
	"time"
)

// BreakerConfig tunes the circuit breaker of each endpoint.
type BreakerConfig struct {
	// Failures is how many consecutive failed attempts open the circuit.
	Failures int
	// Cooldown is how long the circuit first stays open; each failed trial
	// doubles it, up to MaxCooldown.
	Cooldown, MaxCooldown time.Duration
}

// DefaultBreaker opens after 5 consecutive failures for a minute, and for
// at most an hour.
var DefaultBreaker = BreakerConfig{Failures: 5, Cooldown: time.Minute, MaxCooldown: time.Hour}

// breakers hold the circuit of each endpoint, in memory: each instance
// keeps its own, which is what matters for the traffic it sends.
//
// Closed: attempts go through; Failures consecutive failures open it.
// Open: attempts wait until the cooldown ends. Half-open (cooldown over):
// one trial attempt goes through while the others wait; its success closes
// the circuit, its failure opens it again for twice the cooldown.
type breakers struct {
	cfg BreakerConfig
	mu  sync.Mutex
	m   map[string]*circuit
}

type circuit struct {
	failures  int
	openUntil time.Time // zero when closed
	cooldown  time.Duration
	trial     bool // a half-open trial is in flight
}

// maxCircuits bounds the map; closed circuits without failures are not
// kept at all, so only failing endpoints count.
const maxCircuits = 100_000

func newBreakers(cfg BreakerConfig) *breakers {
	d := DefaultBreaker
	if cfg.Failures <= 0 {
		cfg.Failures = d.Failures
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = d.Cooldown
	}
	if cfg.MaxCooldown <= 0 {
		cfg.MaxCooldown = max(d.MaxCooldown, cfg.Cooldown)
	}
	return &breakers{cfg: cfg, m: make(map[string]*circuit)}
}

// allow reports whether an attempt to endpoint id may go out at now; if
// not, until is when to try again.
func (b *breakers) allow(id string, now time.Time) (ok bool, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[id]
	if c == nil || c.openUntil.IsZero() {
		return true, time.Time{}
	}
	if now.Before(c.openUntil) {
		return false, c.openUntil
	}
	if c.trial {
		// Another attempt is the trial; check back shortly after it.
		return false, now.Add(min(b.cfg.Cooldown, 10*time.Second))
	}
	c.trial = true
	return true, time.Time{}
}

func (b *breakers) success(id string) {
	b.mu.Lock()
	delete(b.m, id)
	b.mu.Unlock()
}

func (b *breakers) failure(id string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[id]
	if c == nil {
		if len(b.m) >= maxCircuits {
			return // under a flood of failing endpoints, stop tracking new ones
		}
		c = &circuit{}
		b.m[id] = c
	}
	c.failures++
	switch {
	case c.trial: // the half-open trial failed
		c.trial = false
		c.cooldown = min(2*c.cooldown, b.cfg.MaxCooldown)
		c.openUntil = now.Add(c.cooldown)
	case c.openUntil.IsZero() && c.failures >= b.cfg.Failures:
		c.cooldown = b.cfg.Cooldown
		c.openUntil = now.Add(c.cooldown)
	}
}

// State is a circuit's state, for tests and the delivery log.
type State string

const (
	StateClosed   State = "closed"
	StateOpen     State = "open"
	StateHalfOpen State = "half_open"
)

// Circuit returns the state of endpoint id's circuit at now.
func (w *Worker) Circuit(id string, now time.Time) State {
	b := w.breaker
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[id]
	switch {
	case c == nil || c.openUntil.IsZero():
		return StateClosed
	case now.Before(c.openUntil):
		return StateOpen
	default:
		return StateHalfOpen
	}
}
