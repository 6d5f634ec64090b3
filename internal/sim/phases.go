package sim

import "github.com/amp-protocol/amp"

// PhaseStats summarises what a policy answered users in one profile phase:
// how often it said it was exploring and how confident it said it was. The
// documentation promises exploration that falls and confidence that grows
// from phase to phase (about 0.2–0.4 in cold start, 0.5–0.7 while
// learning); these are the figures to hold it to.
type PhaseStats struct {
	Phase          amp.Phase `json:"phase"`
	Answers        int       `json:"answers"`
	ExploredShare  float64   `json:"exploredShare"`
	MeanConfidence float64   `json:"meanConfidence"`
}

// phaseCounter accumulates PhaseStats, in the order of amp.Phases.
type phaseCounter struct {
	answers, explored [3]int
	confidence        [3]float64
}

// add counts one answer given in phase.
func (c *phaseCounter) add(phase amp.Phase, explored bool, confidence float64) {
	i := phaseIndex(phase)
	if i < 0 {
		return
	}
	c.answers[i]++
	if explored {
		c.explored[i]++
	}
	c.confidence[i] += confidence
}

// stats returns the phases with at least one answer.
func (c *phaseCounter) stats() []PhaseStats {
	var out []PhaseStats
	for i, phase := range phases {
		if n := c.answers[i]; n > 0 {
			out = append(out, PhaseStats{Phase: phase, Answers: n,
				ExploredShare: float64(c.explored[i]) / float64(n), MeanConfidence: c.confidence[i] / float64(n)})
		}
	}
	return out
}

var phases = [3]amp.Phase{amp.PhaseColdStart, amp.PhaseLearning, amp.PhaseOptimised}

func phaseIndex(p amp.Phase) int {
	for i, q := range phases {
		if p == q {
			return i
		}
	}
	return -1
}

// phaseReporter is an agent that reports what it answered by phase.
type phaseReporter interface {
	Phases() []PhaseStats
}
