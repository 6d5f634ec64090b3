package learn

import (
	"math"
	"strconv"
	"strings"

	"github.com/amp-protocol/amp"
)

// minQuoted is the fewest outcomes a statistic must rest on to be quoted.
const minQuoted = 3

// rationale states the statistic behind a choice: the user's own success
// rate with one of the chosen options when the user has tried it often
// enough, otherwise the population's for the context, and says so when the
// choice explores. The quoted dimension is the one whose chosen option has
// the most evidence, preferring the most specific context (task type, then
// request complexity, then everything).
func rationale(est *estimate, pol *policy, arms [numDims]int, explored bool, tk string, cx amp.TaskComplexity) string {
	var b strings.Builder
	b.Grow(128)
	if explored {
		for d := range numDims {
			if arms[d] != pol.best[d] {
				b.WriteString("Exploring ")
				b.WriteString(optionName(d, arms[d]))
				b.WriteString(" (")
				b.WriteString(dimLabel[d])
				if pol.alarm > 0 {
					b.WriteString(") because recent outcomes fell short of expectations; ")
				} else {
					b.WriteString(") to learn more; ")
				}
				break
			}
		}
	}
	if est.personal {
		if q, ok := quote(est.userCells, arms, pol); ok {
			b.WriteString("user ")
			q.write(&b, tk, cx)
			return capitalised(b.String())
		}
	}
	if q, ok := quote(est.popCells, arms, pol); ok {
		if est.personal {
			if n := est.userCells[0]; n.c != nil && n.f*n.c.N >= 0.5 {
				b.WriteString("user has ")
				b.WriteString(strconv.Itoa(int(math.Round(n.f * n.c.N))))
				b.WriteString(" recent outcomes; population default: ")
			} else {
				b.WriteString("new user; population default: ")
			}
		} else {
			b.WriteString("population default (holdout): ")
		}
		b.WriteString("similar users ")
		q.write(&b, tk, cx)
		return capitalised(b.String())
	}
	// Too little evidence with the chosen options to quote a rate: say
	// what there is, which is true whatever it is.
	userN, popN := 0.0, 0.0
	if est.personal {
		if n := est.userCells[0]; n.c != nil {
			userN = n.f * n.c.N
		}
	}
	if n := est.popCells[0]; n.c != nil {
		popN = n.f * n.c.N
	}
	switch {
	case userN < 0.5 && popN < 0.5:
		b.WriteString("no outcomes yet from this user or similar users of this account and mode; trying options evenly")
	default:
		if est.personal {
			b.WriteString("user has ")
			b.WriteString(strconv.Itoa(int(math.Round(userN))))
			b.WriteString(" recent outcomes, similar users ")
		} else {
			b.WriteString("population default (holdout): similar users have ")
		}
		b.WriteString(strconv.Itoa(int(math.Round(popN))))
		b.WriteString("; too few with these options to quote a rate yet")
	}
	return capitalised(b.String())
}

var dimLabel = [numDims]string{"framing", "communication style", "complexity handling", "encouragement"}

type quoted struct {
	slot    int // 0 global, 1 task type, 2 complexity
	dim     int
	option  int
	n, rate float64
	verb    string
}

// quote picks the statistic to quote from the most specific cell with
// enough evidence: among the chosen options with at least minQuoted
// outcomes there, the one of the most decisive dimension (the highest
// posterior probability of being the best), since it explains the choice
// best.
func quote(cells [3]evidenceCell, arms [numDims]int, pol *policy) (quoted, bool) {
	for _, slot := range [3]int{1, 2, 0} {
		ec := cells[slot]
		if ec.c == nil {
			continue
		}
		best, bestP := quoted{}, -1.0
		for d := range numDims {
			x := &ec.c.Arms[d][arms[d]]
			n := ec.f * x.N
			if n >= minQuoted && pol.pbest[d][arms[d]] > bestP {
				best, bestP = quoted{slot: slot, dim: d, option: arms[d], n: n, rate: x.C / x.N}, pol.pbest[d][arms[d]]
			}
		}
		if bestP >= 0 {
			best.verb = "completed"
			if ec.c.K < ec.c.N/2 {
				best.verb = "started"
			}
			best.rate = math.Min(1, best.rate)
			return best, true
		}
	}
	return quoted{}, false
}

func (q *quoted) write(b *strings.Builder, tk string, cx amp.TaskComplexity) {
	b.WriteString(q.verb)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(int(math.Round(100 * q.rate))))
	b.WriteString("% of ")
	b.WriteString(strconv.Itoa(int(math.Round(q.n))))
	b.WriteString(" recent ")
	switch q.slot {
	case 1:
		b.WriteString(tk)
		b.WriteByte(' ')
	case 2:
		b.WriteString(string(cx))
		b.WriteString("-complexity ")
	}
	b.WriteString("tasks ")
	opt := optionName(q.dim, q.option)
	switch q.dim {
	case dimFraming:
		b.WriteString("framed as ")
		b.WriteString(opt)
	case dimStyle:
		b.WriteString("in a ")
		b.WriteString(opt)
		b.WriteString(" style")
	case dimHandling:
		b.WriteString("handled as ")
		b.WriteString(opt)
	default:
		b.WriteString("with ")
		b.WriteString(opt)
		b.WriteString(" encouragement")
	}
}

func capitalised(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
