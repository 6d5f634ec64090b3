package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/amp-protocol/amp/internal/ratelimit"
)

func TestFailures(t *testing.T) {
	f := ratelimit.NewFailures(time.Minute, 3, 100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if w := f.Wait("a", now); w != 0 {
			t.Fatalf("after %d failures: wait %v, want 0", i, w)
		}
		f.Fail("a", now)
	}
	if w := f.Wait("a", now); w != time.Minute {
		t.Errorf("after the burst: wait %v, want 1m", w)
	}
	if w := f.Wait("b", now); w != 0 {
		t.Errorf("another key: wait %v, want 0", w)
	}
	// One failure comes back every refill.
	if w := f.Wait("a", now.Add(40*time.Second)); w != 20*time.Second {
		t.Errorf("40 s later: wait %v, want 20s", w)
	}
	if w := f.Wait("a", now.Add(time.Minute)); w != 0 {
		t.Errorf("a minute later: wait %v, want 0", w)
	}
	f.Forget("a")
	if w := f.Wait("a", now); w != 0 {
		t.Errorf("after Forget: wait %v, want 0", w)
	}
}

func TestFailuresBounded(t *testing.T) {
	f := ratelimit.NewFailures(time.Minute, 3, 100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		f.Fail(fmt.Sprintf("ip%d", i), now)
	}
	if n := f.Len(); n > 100 {
		t.Errorf("%d budgets kept, want at most 100", n)
	}
}
