package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"time"

	"github.com/amp-protocol/amp"
)

// liftWindow is the span of decisions the Profiles page measures lift over.
const liftWindow = 30 * 24 * time.Hour

// LiftFunc measures what personalisation adds in tenant t, over the
// decisions made since a time. The server adapts the learning engine's
// evaluation (internal/evaluate's Lift) to it; the dashboard only shows the
// result.
type LiftFunc func(ctx context.Context, t amp.Tenant, since time.Time) (*Lift, error)

// Lift compares the completion rate of personalised users with that of the
// holdout, who get the population's default.
type Lift struct {
	TreatedOutcomes int     // outcomes of personalised users
	HoldoutOutcomes int     // outcomes of holdout users
	TreatedRate     float64 // completion rate of personalised users, in [0, 1]
	HoldoutRate     float64 // completion rate of holdout users, in [0, 1]
	// Lift is TreatedRate − HoldoutRate; Low and High bound its 95%
	// interval.
	Lift, Low, High float64
}

// learningCard is the Profiles page's measure of what personalisation adds.
type learningCard struct {
	HoldoutPercent int
	Err            string // why there is no measure
	Since          time.Time
	Chart          template.HTML
	Headline       string
	TreatedN       int
	HoldoutN       int
	TreatedRate    float64
	HoldoutRate    float64
	LiftText       string
}

// learning builds the learning card of the page's tenant. A failure to
// measure is shown on the card, not as a failed page: the lookup form
// above it still works.
func (h *handler) learning(ctx context.Context, rq *request) (*learningCard, error) {
	card := &learningCard{HoldoutPercent: rq.account.HoldoutPercent}
	if card.HoldoutPercent == 0 {
		return card, nil
	}
	if h.cfg.Lift == nil {
		card.Err = "This server does not measure lift."
		return card, nil
	}
	card.Since = h.svc.Now().Add(-liftWindow)
	l, err := h.cfg.Lift(ctx, rq.tenant(), card.Since)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h.log.Error("dashboard: measuring lift failed", "account_id", rq.account.ID, "mode", rq.mode, "err", err)
		card.Err = "The lift could not be measured just now. Please try again later."
		return card, nil
	}
	card.TreatedN, card.HoldoutN = l.TreatedOutcomes, l.HoldoutOutcomes
	card.TreatedRate, card.HoldoutRate = l.TreatedRate, l.HoldoutRate
	if l.TreatedOutcomes == 0 || l.HoldoutOutcomes == 0 {
		card.Err = fmt.Sprintf("Not enough outcomes to compare yet in the last %d days: %d from personalised users and %d from the holdout.",
			int(liftWindow/(24*time.Hour)), l.TreatedOutcomes, l.HoldoutOutcomes)
		return card, nil
	}
	card.LiftText = fmt.Sprintf("%s (%s to %s)", signedPct(l.Lift), signedPct(l.Low), signedPct(l.High))
	switch {
	case l.Low > 0:
		card.Headline = fmt.Sprintf("Personalised users complete %.1f percentage points more often than the holdout (95%% interval %s to %s).",
			l.Lift*100, signedPct(l.Low), signedPct(l.High))
	case l.High < 0:
		card.Headline = fmt.Sprintf("Personalised users complete %.1f percentage points less often than the holdout (95%% interval %s to %s).",
			-l.Lift*100, signedPct(l.Low), signedPct(l.High))
	default:
		card.Headline = fmt.Sprintf("No clear difference yet: the lift is %s, but its 95%% interval (%s to %s) includes zero.",
			signedPct(l.Lift), signedPct(l.Low), signedPct(l.High))
	}
	card.Chart = liftChart(l.Lift, l.Low, l.High)
	return card, nil
}
