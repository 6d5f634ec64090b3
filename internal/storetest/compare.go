package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// diff collects the differences between a record read back and the one
// expected, field by field, so that a failure names every wrong field.
type diff struct{ lines []string }

func (d *diff) addf(format string, args ...any) {
	d.lines = append(d.lines, fmt.Sprintf(format, args...))
}

// check reports the differences found, if any, as one error of t.
func (d *diff) check(t *testing.T, what string) {
	t.Helper()
	if len(d.lines) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(d.lines, "\n\t"))
	}
}

func eq[T comparable](d *diff, field string, got, want T) {
	if got != want {
		d.addf("%s: got %#v, want %#v", field, got, want)
	}
}

func ptrEq[T comparable](d *diff, field string, got, want *T) {
	switch {
	case got == nil && want == nil:
	case got == nil:
		d.addf("%s: got nil, want %#v", field, *want)
	case want == nil:
		d.addf("%s: got %#v, want nil", field, *got)
	case *got != *want:
		d.addf("%s: got %#v, want %#v", field, *got, *want)
	}
}

// time checks that got is the instant want, in UTC. Stores must keep at
// least millisecond precision; the suite only uses whole milliseconds.
func (d *diff) time(field string, got, want time.Time) {
	if !got.Equal(want) {
		d.addf("%s: got %v, want %v", field, got, want)
	} else if got.Location() != time.UTC {
		d.addf("%s: got location %v, want UTC", field, got.Location())
	}
}

func (d *diff) timePtr(field string, got, want *time.Time) {
	switch {
	case got == nil && want == nil:
	case got == nil:
		d.addf("%s: got nil, want %v", field, *want)
	case want == nil:
		d.addf("%s: got %v, want nil", field, *got)
	default:
		d.time(field, *got, *want)
	}
}

// json compares metadata as JSON values: a backend may store it in a form
// (such as PostgreSQL's jsonb) that changes spacing and key order. Absent
// metadata must come back absent.
func (d *diff) json(field string, got, want json.RawMessage) {
	if len(got) == 0 || len(want) == 0 {
		if len(got) != len(want) {
			d.addf("%s: got %q, want %q", field, got, want)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		d.addf("%s: got invalid JSON %q: %v", field, got, err)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		panic(fmt.Sprintf("storetest: invalid JSON in a fixture: %q", want))
	}
	if !reflect.DeepEqual(g, w) {
		d.addf("%s: got %s, want %s", field, got, want)
	}
}

// bytes compares opaque model bytes exactly; nil and empty are the same.
func (d *diff) bytes(field string, got, want []byte) {
	if !bytes.Equal(got, want) {
		d.addf("%s: got %x, want %x", field, got, want)
	}
}

func checkAccount(t *testing.T, what string, got, want *amp.Account) {
	t.Helper()
	var d diff
	eq(&d, "ID", got.ID, want.ID)
	eq(&d, "Name", got.Name, want.Name)
	eq(&d, "Plan", got.Plan, want.Plan)
	eq(&d, "CustomRate", got.CustomRate, want.CustomRate)
	eq(&d, "HoldoutPercent", got.HoldoutPercent, want.HoldoutPercent)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.check(t, what)
}

func checkKey(t *testing.T, what string, got, want *amp.APIKey) {
	t.Helper()
	var d diff
	eq(&d, "ID", got.ID, want.ID)
	eq(&d, "AccountID", got.AccountID, want.AccountID)
	eq(&d, "Mode", got.Mode, want.Mode)
	eq(&d, "Name", got.Name, want.Name)
	eq(&d, "Hash", got.Hash, want.Hash)
	eq(&d, "Last4", got.Last4, want.Last4)
	if len(got.Scopes) != len(want.Scopes) || (len(want.Scopes) > 0 && !reflect.DeepEqual(got.Scopes, want.Scopes)) {
		d.addf("Scopes: got %q, want %q (in this order)", got.Scopes, want.Scopes)
	}
	eq(&d, "RateLimit", got.RateLimit, want.RateLimit)
	d.timePtr("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.timePtr("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.timePtr("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	eq(&d, "RolledFrom", got.RolledFrom, want.RolledFrom)
	eq(&d, "RolledTo", got.RolledTo, want.RolledTo)
	d.check(t, what)
}

func checkProfile(t *testing.T, what string, got, want *amp.ProfileRecord) {
	t.Helper()
	var d diff
	eq(&d, "Tenant", got.Tenant, want.Tenant)
	eq(&d, "UserID", got.UserID, want.UserID)
	d.bytes("Model", got.Model, want.Model)
	switch g, w := got.Manual, want.Manual; {
	case g == nil && w == nil:
	case g == nil:
		d.addf("Manual: got nil, want %+v", *w)
	case w == nil:
		d.addf("Manual: got %+v, want nil", *g)
	default:
		eq(&d, "Manual.Framing", g.Framing, w.Framing)
		eq(&d, "Manual.Style", g.Style, w.Style)
		eq(&d, "Manual.Handling", g.Handling, w.Handling)
		eq(&d, "Manual.Encouragement", g.Encouragement, w.Encouragement)
		d.time("Manual.SetAt", g.SetAt, w.SetAt)
	}
	d.json("Metadata", got.Metadata, want.Metadata)
	eq(&d, "OutcomeCount", got.OutcomeCount, want.OutcomeCount)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.check(t, what)
}

func checkPopulation(t *testing.T, what string, got, want *amp.PopulationRecord) {
	t.Helper()
	var d diff
	eq(&d, "Tenant", got.Tenant, want.Tenant)
	d.bytes("Model", got.Model, want.Model)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.check(t, what)
}

func checkDecision(t *testing.T, what string, got, want *amp.Decision) {
	t.Helper()
	var d diff
	eq(&d, "RequestID", got.RequestID, want.RequestID)
	eq(&d, "Tenant", got.Tenant, want.Tenant)
	eq(&d, "UserID", got.UserID, want.UserID)
	eq(&d, "TaskType", got.TaskType, want.TaskType)
	eq(&d, "TaskComplexity", got.TaskComplexity, want.TaskComplexity)
	eq(&d, "Recommendation", got.Recommendation, want.Recommendation)
	eq(&d, "Propensity", got.Propensity, want.Propensity)
	eq(&d, "Explored", got.Explored, want.Explored)
	eq(&d, "Holdout", got.Holdout, want.Holdout)
	eq(&d, "Confidence", got.Confidence, want.Confidence)
	eq(&d, "Interactions", got.Interactions, want.Interactions)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.check(t, what)
}

func checkOutcome(t *testing.T, what string, got, want *amp.OutcomeRecord) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		return
	}
	var d diff
	eq(&d, "RequestID", got.RequestID, want.RequestID)
	eq(&d, "Tenant", got.Tenant, want.Tenant)
	eq(&d, "UserID", got.UserID, want.UserID)
	eq(&d, "Started", got.Started, want.Started)
	ptrEq(&d, "Completed", got.Completed, want.Completed)
	ptrEq(&d, "TimeToStart", got.TimeToStart, want.TimeToStart)
	ptrEq(&d, "FlowState", got.FlowState, want.FlowState)
	ptrEq(&d, "Satisfaction", got.Satisfaction, want.Satisfaction)
	d.json("Metadata", got.Metadata, want.Metadata)
	eq(&d, "Reward", got.Reward, want.Reward)
	d.time("ReportedAt", got.ReportedAt, want.ReportedAt)
	d.check(t, what)
}

// wantErr fails t unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// noErr fails t if err is not nil.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
