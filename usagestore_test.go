package amp_test

import (
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func TestUsageRowValidate(t *testing.T) {
	good := amp.UsageRow{Granularity: amp.GranularityMinute, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		AccountID: "acct_1", Mode: amp.ModeLive, KeyID: "key_1", Route: "POST /v1/context", StatusClass: 2, Requests: 1}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good row: %v", err)
	}
	for name, spoil := range map[string]func(r *amp.UsageRow){
		"granularity": func(r *amp.UsageRow) { r.Granularity = "week" },
		"mode":        func(r *amp.UsageRow) { r.Mode = "staging" },
		"account":     func(r *amp.UsageRow) { r.AccountID = "" },
		"key":         func(r *amp.UsageRow) { r.KeyID = "" },
		"admission":   func(r *amp.UsageRow) { r.Admission = "maybe" },
	} {
		r := good
		spoil(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("a row with a bad %s: no error", name)
		}
	}
}
