package learn_test

import (
	"math"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

func ptr[T any](v T) *T { return &v }

func TestReward(t *testing.T) {
	tests := []struct {
		name string
		o    amp.OutcomeRecord
		want float64
	}{
		{"NotStarted", amp.OutcomeRecord{Started: false, Completed: ptr(false)}, 0},
		{"NotStartedSatisfied", amp.OutcomeRecord{Started: false, Satisfaction: ptr(0.8)}, 0.35 * 0.8},
		// 0.10 + 0.25·0.5 + 0.05·0.25 + 0.35·0.5 + 0.25·0.5
		{"StartedOnly", amp.OutcomeRecord{Started: true}, 0.5375},
		{"Perfect", amp.OutcomeRecord{Started: true, Completed: ptr(true), FlowState: ptr(true), Satisfaction: ptr(1.0), TimeToStart: ptr(0.0)}, 1},
		// 0.10 + 0 + 0.05·0.25 + 0.35·0.5 + 0.25·0.5^(120/120)
		{"StartedNotCompleted", amp.OutcomeRecord{Started: true, Completed: ptr(false), TimeToStart: ptr(120.0)}, 0.4125},
		// 0.10 + 0.25 + 0.05·0.25 + 0.35·0.95 + 0.25·0.5^(10/120)
		{"DocsSuccess", amp.OutcomeRecord{Started: true, Completed: ptr(true), Satisfaction: ptr(0.95), TimeToStart: ptr(10.0)}, 0.1 + 0.25 + 0.0125 + 0.3325 + 0.25*math.Exp2(-10.0/120)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := learn.Reward(&tt.o); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Reward = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRewardOrders(t *testing.T) {
	bad := learn.Reward(&amp.OutcomeRecord{Started: true, Completed: ptr(false)})
	good := learn.Reward(&amp.OutcomeRecord{Started: true, Completed: ptr(true)})
	if !(good > bad) {
		t.Errorf("completing (%v) is not better than not completing (%v)", good, bad)
	}
	slow := learn.Reward(&amp.OutcomeRecord{Started: true, TimeToStart: ptr(600.0)})
	fast := learn.Reward(&amp.OutcomeRecord{Started: true, TimeToStart: ptr(5.0)})
	if !(fast > slow) {
		t.Errorf("starting fast (%v) is not better than slowly (%v)", fast, slow)
	}
	for _, o := range []amp.OutcomeRecord{
		{Started: true, Satisfaction: ptr(2.0), TimeToStart: ptr(-5.0)},
		{Started: true, TimeToStart: ptr(math.NaN())},
	} {
		if r := learn.Reward(&o); r < 0 || r > 1 || math.IsNaN(r) {
			t.Errorf("Reward(%+v) = %v, want within [0,1]", o, r)
		}
	}
}
