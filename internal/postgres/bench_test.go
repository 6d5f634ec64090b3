package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	amp "github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
)

// The benchmarks measure the two writes on the request path, with many
// requests in flight (b.SetParallelism) as on a busy server, each request
// a durable commit. Run them against the throwaway server:
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/postgres/
//
// Their ns/op is the inverse of throughput: the wall time of the whole run
// divided by the operations done, by all goroutines together.

const (
	benchUsers       = 1000 // users the decisions are spread over
	benchParallelism = 4    // goroutines per GOMAXPROCS
)

var benchTenant = amp.Tenant{AccountID: "acct_bench", Mode: amp.ModeLive}

// benchStore opens a store for a benchmark, with a pool of
// AMP_BENCH_POOL connections if that is set (to compare pool sizes), else
// the default.
func benchStore(b *testing.B) *postgres.DB {
	var opts []postgres.Option
	if v := os.Getenv("AMP_BENCH_POOL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("AMP_BENCH_POOL=%q: want a positive number", v)
		}
		opts = append(opts, postgres.WithPoolSize(n))
	}
	db := openStore(b, opts...)
	if err := db.CreateAccount(context.Background(), &amp.Account{ID: benchTenant.AccountID, Name: "bench", Plan: amp.PlanEnterprise, CreatedAt: testNow}); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkSaveDecision logs decisions, each with the profile to create if
// its user has none, as /v1/context does.
func BenchmarkSaveDecision(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			user := fmt.Sprintf("user_%d", i%benchUsers)
			d := decision(benchTenant, fmt.Sprintf("req_%d", i), user, testNow)
			p := &amp.ProfileRecord{Tenant: benchTenant, UserID: user, CreatedAt: testNow, UpdatedAt: testNow}
			if err := db.SaveDecision(ctx, d, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRecordOutcome records one outcome for each of b.N decisions
// logged beforehand, spread over users of one tenant or of 16. No outcome
// writes its tenant's population row (the deltas are folded afterwards,
// untimed), so Tenants=1 and Tenants=16 should be alike.
func BenchmarkRecordOutcome(b *testing.B) {
	for _, tenants := range []int{1, 16} {
		b.Run(fmt.Sprintf("Tenants=%d", tenants), func(b *testing.B) { benchRecordOutcome(b, tenants) })
	}
}

func benchRecordOutcome(b *testing.B, tenants int) {
	db := benchStore(b)
	ctx := context.Background()
	tenantOf := func(i int64) amp.Tenant {
		return amp.Tenant{AccountID: benchTenant.AccountID, Mode: []amp.Mode{amp.ModeLive, amp.ModeTest}[i%2]}
	}
	if tenants > 2 {
		for a := range tenants / 2 {
			if a == 0 {
				continue // benchStore made it
			}
			if err := db.CreateAccount(ctx, &amp.Account{ID: fmt.Sprintf("acct_bench_%d", a), Name: "bench", Plan: amp.PlanEnterprise, CreatedAt: testNow}); err != nil {
				b.Fatal(err)
			}
		}
		tenantOf = func(i int64) amp.Tenant {
			a := (i / 2) % int64(tenants/2)
			id := benchTenant.AccountID
			if a > 0 {
				id = fmt.Sprintf("acct_bench_%d", a)
			}
			return amp.Tenant{AccountID: id, Mode: []amp.Mode{amp.ModeLive, amp.ModeTest}[i%2]}
		}
	} else if tenants == 1 {
		tenantOf = func(int64) amp.Tenant { return benchTenant }
	}

	// Setup, untimed: b.N decisions, saved from a few goroutines.
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				tn := tenantOf(i)
				user := fmt.Sprintf("user_%d", i%benchUsers)
				p := &amp.ProfileRecord{Tenant: tn, UserID: user, CreatedAt: testNow, UpdatedAt: testNow}
				if err := db.SaveDecision(ctx, decision(tn, fmt.Sprintf("req_%d", i), user, testNow), p); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	next.Store(0)
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	txs0, writes0 := db.OutcomeCommits()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := db.RecordOutcome(ctx, tenantOf(i), fmt.Sprintf("req_%d", i), learn); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	if txs, writes := db.OutcomeCommits(); txs > txs0 {
		b.ReportMetric(float64(writes-writes0)/float64(txs-txs0), "outcomes/commit")
	}
	// Every outcome counted once in its tenant's population: no update
	// was lost under the parallel load.
	var total uint64
	seen := map[amp.Tenant]bool{}
	for i := int64(1); i <= int64(min(b.N, 2*tenants)); i++ {
		tn := tenantOf(i)
		if seen[tn] {
			continue
		}
		seen[tn] = true
		for {
			n, err := db.FoldPopulation(ctx, tn, 10000, addDeltas)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		pop, err := db.Population(ctx, tn)
		if err != nil {
			b.Fatal(err)
		}
		total += counter(pop.Model)
	}
	if total != uint64(b.N) {
		b.Errorf("populations counted %d outcomes, want %d", total, b.N)
	}
}
