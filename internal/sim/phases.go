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
	// DimensionExplored is, per dimension (framing, style, handling,
	// encouragement), the share of answers whose option there was not the
	// model's best guess; only agents that see the learner's Choice report
	// it.
	DimensionExplored *[4]float64 `json:"dimensionExplored,omitempty"`
}

// phaseCounter accumulates PhaseStats, in the order of amp.Phases.
type phaseCounter struct {
	answers, explored [3]int
	confidence        [3]float64
	dims              [3][4]int
	withDims          bool
}

// addChoice counts one answer of a learner, with its per-dimension
// exploration.
func (c *phaseCounter) addChoice(phase amp.Phase, ch *amp.Choice) {
	if i := phaseIndex(phase); i >= 0 {
		c.withDims = true
		for d, x := range ch.Dimensions {
			if x.Explored {
				c.dims[i][d]++
			}
		}
	}
	c.add(phase, ch.Explored, ch.Confidence)
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
			ps := PhaseStats{Phase: phase, Answers: n,
				ExploredShare: float64(c.explored[i]) / float64(n), MeanConfidence: c.confidence[i] / float64(n)}
			if c.withDims {
				ps.DimensionExplored = new([4]float64)
				for d := range ps.DimensionExplored {
					ps.DimensionExplored[d] = float64(c.dims[i][d]) / float64(n)
				}
			}
			out = append(out, ps)
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
