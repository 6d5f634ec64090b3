package sqlite_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/storetest"
)

// openUsageDB opens the database at path for the usage tests; the caller
// (or the suite) closes it.
func openUsageDB(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return db
}

func TestUsageStore(t *testing.T) {
	storetest.RunUsage(t, func(t *testing.T) storetest.UsageBackend {
		return openUsageDB(t, filepath.Join(t.TempDir(), "amp.db"))
	}, storetest.ReopenUsage(func(t *testing.T, closed storetest.UsageBackend) storetest.UsageBackend {
		return openUsageDB(t, closed.(*sqlite.DB).Path())
	}))
}

// BenchmarkQuotaCountPerRequest measures counting every live request in the
// store directly (one AddQuotaUsage per request), the alternative to the
// limiter's in-memory counter flushed in batches.
func BenchmarkQuotaCountPerRequest(b *testing.B) {
	db := openUsageDB(b, filepath.Join(b.TempDir(), "amp.db"))
	defer db.Close()
	month := amp.MonthStart(time.Now())
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := []amp.QuotaDelta{{AccountID: "acct_bench", Month: month, Delta: 1}}
		for pb.Next() {
			if err := db.AddQuotaUsage(ctx, d); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAddUsageBatch measures one meter flush of 300 rows (100
// key/route/status/country combinations in each of the three
// granularities); ns/op is per flush.
func BenchmarkAddUsageBatch(b *testing.B) {
	db := openUsageDB(b, filepath.Join(b.TempDir(), "amp.db"))
	defer db.Close()
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	countries := []string{"US", "DE", "FR", "JP", "BR"}
	rows := make([]amp.UsageRow, 0, 300)
	for _, g := range amp.Granularities {
		for i := range 100 {
			rows = append(rows, amp.UsageRow{Granularity: g, Start: g.Truncate(start), AccountID: "acct_bench",
				Mode: amp.ModeLive, KeyID: "key_" + string(rune('a'+i%10)), Route: "POST /v1/context",
				StatusClass: 2 + i%2, Country: countries[i/20], Requests: 3})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.AddUsage(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPruneUsageInChunks deletes more rows than one chunk holds.
func TestPruneUsageInChunks(t *testing.T) {
	db := openUsageDB(t, filepath.Join(t.TempDir(), "amp.db"))
	defer db.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 5_200 // one chunk and a bit: SQLite is slow under -race
	rows := make([]amp.UsageRow, 0, n+1)
	for i := range n {
		rows = append(rows, amp.UsageRow{Granularity: amp.GranularityMinute, Start: start.Add(time.Duration(i%600) * time.Minute),
			AccountID: "acct_1", Mode: amp.ModeLive, KeyID: "key_" + string(rune('a'+i/600)), Route: "POST /v1/context",
			StatusClass: 2, Country: "US", Requests: 1})
	}
	keep := amp.UsageRow{Granularity: amp.GranularityMinute, Start: start.Add(24 * time.Hour), AccountID: "acct_1",
		Mode: amp.ModeLive, KeyID: "key_z", Route: "POST /v1/context", StatusClass: 2, Country: "US", Requests: 1}
	if err := db.AddUsage(t.Context(), append(rows, keep)); err != nil {
		t.Fatal(err)
	}
	got, err := db.PruneUsage(t.Context(), amp.GranularityMinute, start.Add(12*time.Hour))
	if err != nil || got != n {
		t.Fatalf("PruneUsage = %d, %v; want %d", got, err, n)
	}
	left, err := db.Usage(t.Context(), amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: "acct_1"})
	if err != nil || len(left) != 1 || left[0].KeyID != "key_z" {
		t.Fatalf("left %d rows (%v), want the one newer row", len(left), err)
	}
}
