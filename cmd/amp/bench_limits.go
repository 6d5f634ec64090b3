package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"text/tabwriter"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// benchWithoutLimits runs bench's closed-loop service phases on a second
// SQLite instance whose service has no limiter and no meter, and prints the
// throughput with them over the throughput without them: the cost of rate
// limits, quotas and metering on the request path, measured in the same
// run as the figures it is compared with.
func benchWithoutLimits(ctx context.Context, w io.Writer, cfg *Config, o *benchOptions, log *slog.Logger, withCtx, withOut *loadResult) error {
	dir, err := os.MkdirTemp("", "amp-bench-nolimits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ncfg := *cfg
	ncfg.DataDir = dir
	ncfg.Addr = "127.0.0.1:0"
	b, stop, err := startBenchInstance(ctx, &ncfg, o, log, withoutLimits())
	if err != nil {
		return err
	}
	defer stop()
	phase := func(fn call) *loadResult {
		if o.warmup > 0 {
			closedLoop(ctx, o.concurrency, o.warmup, fn)
		}
		return closedLoop(ctx, o.concurrency, o.duration, fn)
	}
	noCtx := phase(b.contextCall)
	b.fill(ctx, int(1.5*noCtx.Rate()*(o.warmup+o.duration).Seconds()))
	noOut := phase(b.outcomeCall)
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nrate limits, quotas and metering (second instance without them, same phases):\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\twith/s\twithout/s\twith/without\tp99 with\tp99 without\t")
	for _, r := range []struct {
		name          string
		with, without *loadResult
	}{{"POST /v1/context", withCtx, noCtx}, {"POST /v1/outcome", withOut, noOut}} {
		ratio := 0.0
		if r.without.Rate() > 0 {
			ratio = r.with.Rate() / r.without.Rate()
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%s\t%s\t\n", r.name, r.with.Rate(), r.without.Rate(), ratio,
			ms(r.with.Quantile(0.99)), ms(r.without.Quantile(0.99)))
	}
	tw.Flush()
	for _, r := range []*loadResult{noCtx, noOut} {
		if r.FirstErr != nil {
			fmt.Fprintf(w, "first error without limits: %v\n", r.FirstErr)
			break
		}
	}
	return nil
}

// startBenchInstance runs a further service instance for bench on cfg's
// store, with an enterprise account whose rate the load cannot reach, and
// returns a benchRun against it and a function that stops it.
func startBenchInstance(ctx context.Context, cfg *Config, o *benchOptions, log *slog.Logger, opts ...serverOption) (*benchRun, func(), error) {
	srv, store, stop, err := startBenchServer(ctx, cfg, log, opts...)
	if err != nil {
		return nil, nil, err
	}
	acct, err := srv.svc.CreateAccount(ctx, "bench", amp.PlanEnterprise, 1_000_000)
	if err != nil {
		stop()
		return nil, nil, err
	}
	key, err := srv.svc.CreateKey(ctx, acct.ID, amp.ModeLive, service.KeyOptions{Name: "bench"})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return newBenchRun(o, store, srv.baseURL(), "Bearer "+key.Secret), stop, nil
}

// startBenchServer runs a service instance on cfg's store and returns it,
// its store and a function that stops it.
func startBenchServer(ctx context.Context, cfg *Config, log *slog.Logger, opts ...serverOption) (*server, amp.Store, func(), error) {
	store, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return nil, nil, nil, err
	}
	srv, err := newServer(cfg, log, store, opts...)
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	runCtx, stopServer := context.WithCancel(ctx)
	serverDone := make(chan error, 1)
	go func() { serverDone <- srv.run(runCtx) }()
	stop := func() {
		stopServer()
		<-serverDone
	}
	return srv, store, stop, nil
}

// newBenchRun returns a benchRun against the service at url, authorised by
// auth.
func newBenchRun(o *benchOptions, store amp.Store, url, auth string) *benchRun {
	b := &benchRun{
		o:       o,
		store:   store,
		service: url,
		auth:    auth,
		rands:   make([]*rand.Rand, max(o.concurrency, o.rateWorkers)),
	}
	for i := range b.rands {
		b.rands[i] = rand.New(rand.NewPCG(o.seed, uint64(i)))
	}
	return b
}
