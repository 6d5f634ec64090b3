package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/amp-protocol/amp/internal/ratelimit"
)

func TestMemoryTakeIsAllOrNothing(t *testing.T) {
	m := ratelimit.NewMemory(0)
	ctx := context.Background()
	wide := ratelimit.Bucket{Key: "wide", Rate: 5}
	narrow := ratelimit.Bucket{Key: "narrow", Rate: 1}
	res, err := m.Take(ctx, t0, []ratelimit.Bucket{wide, narrow})
	if err != nil || !res.Allowed || res.Remaining != 0 || res.Denied != -1 {
		t.Fatalf("first Take = %+v, %v; want allowed, 0 remaining", res, err)
	}
	res, _ = m.Take(ctx, t0, []ratelimit.Bucket{wide, narrow})
	if res.Allowed || res.Denied != 1 || res.RetryAfter != time.Second {
		t.Fatalf("second Take = %+v; want denied by bucket 1, retry after 1s", res)
	}
	// The refusal left wide's 4 tokens.
	res, _ = m.Peek(ctx, t0, []ratelimit.Bucket{wide})
	if res.Remaining != 4 || res.Reset != 200*time.Millisecond {
		t.Fatalf("Peek(wide) = %+v; want 4 remaining, reset in 200ms", res)
	}
}

func TestMemoryClampsTimeGoingBack(t *testing.T) {
	m := ratelimit.NewMemory(0)
	ctx := context.Background()
	b := []ratelimit.Bucket{{Key: "k", Rate: 10}}
	for range 10 {
		if res, _ := m.Take(ctx, t0.Add(time.Second), b); !res.Allowed {
			t.Fatal("burst refused")
		}
	}
	// A request that read the clock earlier but arrives later must not
	// earn the tokens of the interval twice.
	if res, _ := m.Take(ctx, t0.Add(900*time.Millisecond), b); res.Allowed {
		t.Fatal("request with an earlier time admitted on an empty bucket")
	}
	if res, _ := m.Take(ctx, t0.Add(time.Second+100*time.Millisecond), b); !res.Allowed {
		t.Fatal("request 100ms after the burst refused")
	}
	if res, _ := m.Take(ctx, t0.Add(time.Second+100*time.Millisecond), b); res.Allowed {
		t.Fatal("second request 100ms after the burst admitted")
	}
}

func TestMemoryBounded(t *testing.T) {
	m := ratelimit.NewMemory(320)
	ctx := context.Background()
	// Partly used buckets: none has refilled.
	for i := range 2000 {
		if _, err := m.Take(ctx, t0, []ratelimit.Bucket{{Key: fmt.Sprint("k", i), Rate: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n > 400 {
		t.Fatalf("Len = %d after 2000 keys, want about 320 at most", n)
	}
	// After a second every bucket is full again, hence forgettable.
	if n := m.Sweep(t0.Add(time.Second)); n == 0 || m.Len() != 0 {
		t.Fatalf("Sweep forgot %d, left %d; want all forgotten", n, m.Len())
	}
	// A bucket still refilling is kept.
	b := []ratelimit.Bucket{{Key: "busy", Rate: 10}}
	m.Take(ctx, t0, b)
	if m.Sweep(t0.Add(50 * time.Millisecond)); m.Len() != 1 {
		t.Fatalf("Sweep forgot a bucket still refilling")
	}
}
