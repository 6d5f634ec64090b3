package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/amp-protocol/amp"
)

// learningOpener opens the store that `amp lift` and `amp evaluate` read
// decisions and outcomes from: the --data directory's SQLite database, or
// PostgreSQL when AMP_DATABASE_URL is set. Like the other administrative
// commands it opens without the serving process's lock, so it works while
// `amp serve` runs.
func learningOpener(e *env) learningStoreOpener {
	return func(ctx context.Context, dataDir string) (amp.Store, error) {
		cfg := DefaultConfig()
		if err := cfg.ApplyEnv(e.getenv); err != nil {
			return nil, err
		}
		if dataDir != "" {
			cfg.DataDir = dataDir
		}
		return openStore(ctx, &cfg, slog.New(slog.DiscardHandler), false)
	}
}

func runSimulateCmd(ctx context.Context, e *env, args []string) error {
	return runSimulate(ctx, args, e.stdout, e.stderr)
}

func runEvaluateCmd(ctx context.Context, e *env, args []string) error {
	return evaluateCommand(ctx, args, e.stdout, learningOpener(e), time.Now())
}

func runLiftCmd(ctx context.Context, e *env, args []string) error {
	return liftCommand(ctx, args, e.stdout, learningOpener(e), time.Now())
}
