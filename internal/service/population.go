package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/amp-protocol/amp"
)

// Folding bounds: how many tenants one pass looks at, how many deltas one
// transaction folds, and how many transactions one pass spends on a tenant
// before moving on (the rest waits for the next pass, a second later).
const (
	foldTenants     = 1000
	foldBatch       = 5000
	foldRoundsLimit = 20
)

// FoldPopulations folds every tenant's pending population deltas into its
// population: what outcomes taught the tenant as a whole, which
// ReportOutcome queues rather than writing the tenant's one population row
// from every request. Run calls it every second, at start (deltas left
// pending by a crash fold then) and at shutdown. A tenant that another
// instance is folding right now is skipped; that instance folds it. A
// tenant whose fold fails keeps its deltas queued and does not hold up the
// others. It returns the number of deltas folded and the folds' errors.
func (s *Service) FoldPopulations(ctx context.Context) (int, error) {
	tenants, err := s.store.PendingPopulations(ctx, foldTenants)
	if err != nil {
		return 0, fmt.Errorf("pending populations: %w", err)
	}
	total := 0
	var errs []error
	for _, t := range tenants {
		for range foldRoundsLimit {
			n, err := s.store.FoldPopulation(ctx, t, foldBatch, s.mergePopulation)
			if err != nil {
				// The other tenants are folded all the same; this one's
				// deltas stay queued for the next pass.
				errs = append(errs, fmt.Errorf("fold population of %s/%s: %w", t.AccountID, t.Mode, err))
				break
			}
			total += n
			if n < foldBatch {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return total, errors.Join(errs...)
}

// mergePopulation is the PopulationMergeFunc of FoldPopulations.
func (s *Service) mergePopulation(pop *amp.PopulationRecord, deltas [][]byte) error {
	m, err := s.learner.MergePopulation(pop.Model, deltas)
	if err != nil {
		return fmt.Errorf("merge population: %w", err)
	}
	pop.Model = m
	pop.UpdatedAt = s.Now()
	return nil
}
