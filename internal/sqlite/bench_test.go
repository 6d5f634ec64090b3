package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// Model sizes in the range a learner's state takes: a user's posterior per
// context, a population's over all of them.
const (
	benchUsers          = 1000
	benchUserModel      = 1 << 10
	benchPopulationSize = 4 << 10
	benchDeltaSize      = 64 // about the learner's population delta
)

// benchParallelism is how many goroutines per GOMAXPROCS the parallel
// benchmarks run: an HTTP server has many requests in flight at once, which
// is what group commit feeds on.
var benchParallelism = []int{1, 16, 64}

func benchDB(b *testing.B, opts ...Option) *DB {
	b.Helper()
	return openTest(b, filepath.Join(b.TempDir(), "bench.db"), opts...)
}

func benchDecision(id string, user int) *amp.Decision {
	d := decision(id)
	d.UserID = "user_" + strconv.Itoa(user)
	return d
}

// BenchmarkSaveDecision measures the write of /v1/context for a known user:
// the decision alone.
func BenchmarkSaveDecision(b *testing.B) { benchSaveDecision(b, nil) }

// BenchmarkSaveDecisionNewUser measures the write of a new user's first
// /v1/context: the decision and the profile, if still absent.
func BenchmarkSaveDecisionNewUser(b *testing.B) {
	benchSaveDecision(b, &amp.ProfileRecord{CreatedAt: t0, UpdatedAt: t0})
}

func benchSaveDecision(b *testing.B, profile *amp.ProfileRecord) {
	runParallel(b, func(b *testing.B) *DB { return benchDB(b) }, func(ctx context.Context, db *DB, n int64) error {
		return db.SaveDecision(ctx, benchDecision("req_"+strconv.FormatInt(n, 10), int(n%benchUsers)), profile)
	})
}

// BenchmarkRecordOutcome measures /v1/outcome's store work: read the
// decision, profile and population, store outcome, profile and the
// population delta, durably.
func BenchmarkRecordOutcome(b *testing.B) { benchRecordOutcome(b) }

// BenchmarkRecordOutcomeCached is BenchmarkRecordOutcome with the learning
// cache, as `amp serve` runs, holding the decisions and profiles as a
// /v1/context of each would have left them.
func BenchmarkRecordOutcomeCached(b *testing.B) {
	benchRecordOutcome(b, WithCacheBytes(DefaultCacheBytes))
}

func benchRecordOutcome(b *testing.B, opts ...Option) {
	userModel := make([]byte, benchUserModel)
	delta := make([]byte, benchDeltaSize)
	apply := func(d *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		if already {
			return nil, nil, fmt.Errorf("%s already reported", d.RequestID)
		}
		p.OutcomeCount++
		p.Model = userModel
		p.UpdatedAt = t0
		completed := true
		return &amp.OutcomeRecord{Started: true, Completed: &completed, Reward: 1, ReportedAt: t0}, delta, nil
	}
	setup := func(b *testing.B) *DB {
		db := benchDB(b, opts...)
		seedDecisions(b, db, b.N)
		return db
	}
	runParallel(b, setup, func(ctx context.Context, db *DB, n int64) error {
		_, err := db.RecordOutcome(ctx, tenant, "req_"+strconv.FormatInt(n, 10), apply)
		return err
	})
}

// BenchmarkContextPath is the whole store work of one /v1/context call:
// read the profile and the population, then save the decision.
func BenchmarkContextPath(b *testing.B) { benchContextPath(b) }

// BenchmarkContextPathCached is BenchmarkContextPath with the learning
// cache, as `amp serve` runs.
func BenchmarkContextPathCached(b *testing.B) { benchContextPath(b, WithCacheBytes(DefaultCacheBytes)) }

func benchContextPath(b *testing.B, opts ...Option) {
	setup := func(b *testing.B) *DB {
		db := benchDB(b, opts...)
		seedDecisions(b, db, 0)
		return db
	}
	runParallel(b, setup, func(ctx context.Context, db *DB, n int64) error {
		user := int(n % benchUsers)
		if _, err := db.Profile(ctx, tenant, "user_"+strconv.Itoa(user)); err != nil {
			return err
		}
		if _, err := db.Population(ctx, tenant); err != nil {
			return err
		}
		return db.SaveDecision(ctx, benchDecision("req_c"+strconv.FormatInt(n, 10), user), nil)
	})
}

// runParallel runs op from b.RunParallel's goroutines, as many per
// GOMAXPROCS as each of benchParallelism says, on a store setup prepares,
// and reports CPU time and writes per commit. op's n numbers its calls from
// 0; each goroutine's ctx can be cancelled, as an HTTP request's can.
func runParallel(b *testing.B, setup func(b *testing.B) *DB, op func(ctx context.Context, db *DB, n int64) error) {
	for _, par := range benchParallelism {
		b.Run(fmt.Sprintf("p%d", par), func(b *testing.B) {
			db := setup(b)
			var next atomic.Int64
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				for pb.Next() {
					if err := op(ctx, db, next.Add(1)-1); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			reportCPU(b, cpu0)
			reportBatch(b, db)
		})
	}
}

// BenchmarkProfileRead measures the reads of /v1/context alone.
func BenchmarkProfileRead(b *testing.B) { benchProfileRead(b) }

// BenchmarkProfileReadCached is BenchmarkProfileRead with the learning
// cache.
func BenchmarkProfileReadCached(b *testing.B) { benchProfileRead(b, WithCacheBytes(DefaultCacheBytes)) }

func benchProfileRead(b *testing.B, opts ...Option) {
	db := benchDB(b, opts...)
	seedDecisions(b, db, 0)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer reportCPU(b, cpu0)
	b.RunParallel(func(pb *testing.PB) {
		ctx, cancel := context.WithCancel(context.Background()) // as an HTTP request's
		defer cancel()
		for pb.Next() {
			user := "user_" + strconv.Itoa(int(next.Add(1)%benchUsers))
			if _, err := db.Profile(ctx, tenant, user); err != nil {
				b.Error(err)
				return
			}
			if _, err := db.Population(ctx, tenant); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// seedDecisions stores, in one transaction, a profile for each of the bench
// users, a population, and n decisions req_0 … req_{n-1}; with the cache,
// it caches the profiles and decisions as SaveDecision would.
func seedDecisions(b *testing.B, db *DB, n int) {
	b.Helper()
	userModel := make([]byte, benchUserModel)
	err := db.write(context.Background(), func(w *writer) error {
		var profiles []*amp.ProfileRecord
		for u := range benchUsers {
			p := &amp.ProfileRecord{Model: userModel, CreatedAt: t0, UpdatedAt: t0}
			if _, err := w.exec(w.upsertProfile, profileArgs(tenant, "user_"+strconv.Itoa(u), p)...); err != nil {
				return err
			}
			profiles = append(profiles, p)
		}
		if _, err := w.exec(w.upsertPopulate, tenant.AccountID, string(tenant.Mode), make([]byte, benchPopulationSize), encTime(t0)); err != nil {
			return err
		}
		var decisions []*amp.Decision
		for i := range n {
			d := benchDecision("req_"+strconv.Itoa(i), i%benchUsers)
			if _, err := w.exec(w.insDecision, decisionArgs(d)...); err != nil {
				return err
			}
			decisions = append(decisions, d)
		}
		if db.cache != nil {
			w.afterCommit(func() {
				for u, p := range profiles {
					db.cache.setProfile(profileKey{tenant, "user_" + strconv.Itoa(u)}, p, 0) // inserted: version 0
				}
				for _, d := range decisions {
					db.cache.decisions.set(d.RequestID, storedDecision(d))
				}
			})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// reportCPU reports the process's CPU time per operation since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// reportBatch reports how many writes shared a commit, on average.
func reportBatch(b *testing.B, db *DB) {
	if n := db.batches.Load(); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "writes/commit")
	}
}
