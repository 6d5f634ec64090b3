package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/amp-protocol/amp"
)

// LiftReport compares the completion rate of personalised users with that
// of holdout users, who get the population default and no personalisation.
type LiftReport struct {
	Since        time.Time `json:"since"`
	Personalised Group     `json:"personalised"`
	Holdout      Group     `json:"holdout"`
	// Lift is the personalised completion rate minus the holdout's, in
	// [Low, High] with 95% confidence; Relative is the same as a ratio
	// minus one (0.34 is "34% better").
	Lift         float64 `json:"lift"`
	Low          float64 `json:"low"`
	High         float64 `json:"high"`
	Relative     float64 `json:"relative"`
	RelativeLow  float64 `json:"relativeLow"`
	RelativeHigh float64 `json:"relativeHigh"`
	// Significant is true when the interval excludes zero.
	Significant bool `json:"significant"`
	// Comparable is false when either group has no outcome of known
	// completion; the lift fields are then zero.
	Comparable bool `json:"comparable"`
}

// Group describes one arm of the comparison.
type Group struct {
	Users     int `json:"users"`
	Decisions int `json:"decisions"` // decisions logged
	Outcomes  int `json:"outcomes"`  // of which with an outcome
	Known     int `json:"known"`     // of which with a known completion (not started, or completed reported)
	Completed int `json:"completed"`
	// CompletionRate is Completed/Known; StdErr its standard error,
	// clustered by user (a user's outcomes are not independent).
	CompletionRate float64 `json:"completionRate"`
	StdErr         float64 `json:"stdErr"`
	MeanReward     float64 `json:"meanReward"` // over Outcomes
}

// PageSize is how many decisions Lift and ForEachDecision read per call
// to the store.
const PageSize = 5000

// ForEachDecision calls fn on every decision of tenant t made at or after
// since, oldest first, reading the store page by page so that memory stays
// bounded whatever the volume. Each page starts at the time of the last
// decision of the one before; decisions already handled at that time are
// skipped by id, and a page whose decisions all share one time is read
// again with a larger limit.
func ForEachDecision(ctx context.Context, store amp.LearningStore, t amp.Tenant, since time.Time, fn func(*amp.LoggedDecision) error) error {
	limit := PageSize
	seen := map[string]bool{} // handled decisions made at `since`
	for {
		page, err := store.Decisions(ctx, t, since, limit)
		if err != nil {
			return fmt.Errorf("read decisions: %w", err)
		}
		for _, d := range page {
			if d.CreatedAt.Equal(since) && seen[d.RequestID] {
				continue
			}
			if err := fn(d); err != nil {
				return err
			}
			if d.CreatedAt.Equal(since) {
				seen[d.RequestID] = true
			}
		}
		if len(page) < limit {
			return nil
		}
		last := page[len(page)-1].CreatedAt
		if last.Equal(since) {
			if limit >= maxPageSize {
				return errors.New("read decisions: too many decisions share one timestamp")
			}
			limit *= 2
			continue
		}
		since = last
		seen = map[string]bool{}
		for _, d := range page {
			if d.CreatedAt.Equal(last) {
				seen[d.RequestID] = true
			}
		}
	}
}

// maxPageSize bounds the page size when many decisions share a timestamp.
const maxPageSize = 64 * PageSize

// Lift reports the completion-rate lift of personalised over holdout users
// of tenant t since the given time, from the decisions and outcomes the
// store logged. Users are assigned to the holdout by the account's
// holdoutPercent; a user whose decisions fall in both groups (the
// percentage changed) counts in each with the decisions of that group.
func Lift(ctx context.Context, store amp.LearningStore, t amp.Tenant, since time.Time) (*LiftReport, error) {
	c := NewLiftCounter()
	if err := ForEachDecision(ctx, store, t, since, func(d *amp.LoggedDecision) error {
		c.Add(d)
		return nil
	}); err != nil {
		return nil, err
	}
	r := c.Report()
	r.Since = since
	return r, nil
}

// LiftCounter accumulates decisions for a LiftReport.
type LiftCounter struct {
	groups [2]groupAcc // 0 personalised, 1 holdout
}

type groupAcc struct {
	users     map[string]*userAcc
	decisions int
	outcomes  int
	reward    float64
}

type userAcc struct{ known, completed int }

// NewLiftCounter returns an empty counter.
func NewLiftCounter() *LiftCounter {
	return &LiftCounter{groups: [2]groupAcc{{users: map[string]*userAcc{}}, {users: map[string]*userAcc{}}}}
}

// Add counts one logged decision.
func (c *LiftCounter) Add(d *amp.LoggedDecision) {
	g := &c.groups[0]
	if d.Holdout {
		g = &c.groups[1]
	}
	g.decisions++
	u := g.users[d.UserID]
	if u == nil {
		u = &userAcc{}
		g.users[d.UserID] = u
	}
	if d.Outcome == nil {
		return
	}
	g.outcomes++
	g.reward += d.Outcome.Reward
	if completed, known := completion(d.Outcome); known {
		u.known++
		if completed {
			u.completed++
		}
	}
}

// Report computes the lift and its 95% interval. The standard error of a
// group's completion rate p = Σc_u/Σn_u is clustered by user,
// sqrt(G/(G-1)·Σ_u (c_u - p·n_u)²)/Σn_u over its G users, so that heavy
// users do not make the interval look tighter than it is. The relative
// lift's interval uses the delta method on log(p_personalised/p_holdout).
func (c *LiftCounter) Report() *LiftReport {
	r := &LiftReport{Personalised: c.groups[0].summary(), Holdout: c.groups[1].summary()}
	p, h := r.Personalised, r.Holdout
	if p.Known == 0 || h.Known == 0 {
		return r
	}
	r.Comparable = true
	r.Lift = p.CompletionRate - h.CompletionRate
	se := math.Hypot(p.StdErr, h.StdErr)
	r.Low, r.High = r.Lift-1.96*se, r.Lift+1.96*se
	r.Significant = r.Low > 0 || r.High < 0
	if h.CompletionRate > 0 && p.CompletionRate > 0 {
		r.Relative = p.CompletionRate/h.CompletionRate - 1
		lse := math.Hypot(p.StdErr/p.CompletionRate, h.StdErr/h.CompletionRate)
		lr := math.Log(p.CompletionRate / h.CompletionRate)
		r.RelativeLow, r.RelativeHigh = math.Exp(lr-1.96*lse)-1, math.Exp(lr+1.96*lse)-1
	}
	return r
}

func (g *groupAcc) summary() Group {
	s := Group{Users: len(g.users), Decisions: g.decisions, Outcomes: g.outcomes}
	if g.outcomes > 0 {
		s.MeanReward = g.reward / float64(g.outcomes)
	}
	// Sum in a fixed order so that the result does not depend on map order.
	ids := make([]string, 0, len(g.users))
	for id := range g.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s.Known += g.users[id].known
		s.Completed += g.users[id].completed
	}
	if s.Known == 0 {
		return s
	}
	p := float64(s.Completed) / float64(s.Known)
	s.CompletionRate = p
	ss, clusters := 0.0, 0
	for _, id := range ids {
		u := g.users[id]
		if u.known == 0 {
			continue
		}
		clusters++
		d := float64(u.completed) - p*float64(u.known)
		ss += d * d
	}
	if clusters > 1 {
		s.StdErr = math.Sqrt(float64(clusters)/float64(clusters-1)*ss) / float64(s.Known)
	}
	return s
}
