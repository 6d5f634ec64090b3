package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator of amp bench. A call is one request of a target; it
// returns errExhausted when it has no more input (no requestId left to
// report an outcome for), which ends the phase early.

var errExhausted = errors.New("input exhausted")

// call performs one request on hc.
type call func(ctx context.Context, hc *http.Client, worker int) error

// loadResult is what one phase measured.
type loadResult struct {
	OK        int
	Errors    int
	FirstErr  error
	Elapsed   time.Duration
	Latencies []time.Duration // of successful calls, sorted
	Exhausted bool            // the phase ended early for lack of input
	// WritesPerCommit is the store's group-commit batch size over the
	// phase; 0 when the store does not report it (PostgreSQL, the echo).
	WritesPerCommit float64
	// CPU is the CPU time the whole process (load generator, target and
	// whatever else it runs) used over a closed-loop phase; 0 where not
	// known. Per request, it is what the phase costs the machine, which a
	// machine shared with other work does not skew as it skews the rate.
	CPU time.Duration
}

// CPUPerRequest formats CPU per successful request in microseconds, or "-".
func (r *loadResult) CPUPerRequest() string {
	if r.CPU <= 0 || r.OK == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(r.CPU.Microseconds())/float64(r.OK))
}

// Rate is successful requests per second.
func (r *loadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Quantile returns the q-quantile (nearest rank) of the latencies.
func (r *loadResult) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[max(0, min(i, len(r.Latencies)-1))]
}

// newHTTPClient returns a keep-alive client with a connection of its own,
// as a separate application instance would have.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// workerStats collects one worker's measurements.
type workerStats struct {
	ok, errors int
	firstErr   error
	exhausted  bool
	lat        []time.Duration
}

func (w *workerStats) record(err error, lat time.Duration) (stop bool) {
	switch {
	case errors.Is(err, errExhausted):
		w.exhausted = true
		return true
	case err != nil:
		w.errors++
		if w.firstErr == nil {
			w.firstErr = err
		}
	default:
		w.ok++
		w.lat = append(w.lat, lat)
	}
	return false
}

func merge(stats []*workerStats, elapsed time.Duration) *loadResult {
	r := &loadResult{Elapsed: elapsed}
	for _, s := range stats {
		r.OK += s.ok
		r.Errors += s.errors
		r.Exhausted = r.Exhausted || s.exhausted
		if r.FirstErr == nil {
			r.FirstErr = s.firstErr
		}
		r.Latencies = append(r.Latencies, s.lat...)
	}
	slices.Sort(r.Latencies)
	return r
}

// closedLoop runs workers that each send a request as soon as their last
// one was answered, for d: it measures the throughput the target sustains
// at that concurrency.
func closedLoop(ctx context.Context, workers int, d time.Duration, fn call) *loadResult {
	stats := make([]*workerStats, workers)
	cpu0 := processCPU()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		stats[w] = &workerStats{lat: make([]time.Duration, 0, 4096)}
		wg.Go(func() {
			hc := newHTTPClient()
			defer hc.CloseIdleConnections()
			st := stats[w]
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				err := fn(ctx, hc, w)
				if st.record(err, time.Since(t0)) {
					return
				}
			}
		})
	}
	wg.Wait()
	r := merge(stats, time.Since(start))
	if cpu0 > 0 {
		r.CPU = processCPU() - cpu0
	}
	return r
}

// fixedRate sends rate requests per second for d, on a pool of workers,
// whatever the answers' latency: it measures latency under a given load.
// A request's latency counts from the moment it was due, not from when a
// worker got to send it, so that a slow answer that delays later requests
// is charged to them too (no coordinated omission).
func fixedRate(ctx context.Context, rate, workers int, d time.Duration, fn call) *loadResult {
	interval := time.Second / time.Duration(rate)
	n := int(d / interval)
	due := make(chan time.Time, n)
	stats := make([]*workerStats, workers)
	// exhausted stops the dispatch of new requests once a call ran out of
	// input; requests in flight finish normally.
	var exhausted atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		stats[w] = &workerStats{lat: make([]time.Duration, 0, n/workers+16)}
		wg.Go(func() {
			hc := newHTTPClient()
			defer hc.CloseIdleConnections()
			st := stats[w]
			for t := range due {
				if exhausted.Load() || ctx.Err() != nil {
					continue // drain
				}
				err := fn(ctx, hc, w)
				if st.record(err, time.Since(t)) {
					exhausted.Store(true)
				}
			}
		})
	}
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil || exhausted.Load() {
			break
		}
		due <- at
	}
	close(due)
	wg.Wait()
	return merge(stats, time.Since(start))
}
