package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/postgres"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// DatabaseFile is the name of the SQLite database inside the data directory.
const DatabaseFile = "amp.db"

// newLogger returns the logger of cfg, writing to w.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.slogLevel()}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the configured database: PostgreSQL when DatabaseURL is
// set, else SQLite at DataDir/amp.db, creating the directory (0700: it
// holds every profile) when absent. Migrations are applied on open.
//
// serving says that the caller serves the API. A serving process keeps
// SQLite's profile and population rows in memory (sqlite.WithCacheBytes), which
// is sound only while it is the one process that writes them, so the store
// then takes the data directory's lock; the administrative commands, which
// write only accounts, keys and settings, open without it and so keep
// working beside a running server.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger, serving bool) (amp.Store, error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.WithLogger(log), postgres.WithPoolSize(cfg.DatabasePool))
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database: %w", err)
		}
		return db, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	opts := []sqlite.Option{sqlite.WithLogger(log)}
	if serving {
		opts = append(opts, sqlite.WithCacheBytes(cfg.CacheBytes))
	}
	if cfg.Sync == "full" {
		opts = append(opts, sqlite.WithFullSync())
	}
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, DatabaseFile), opts...)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database: %w", err)
	}
	return db, nil
}

// newLearner returns the learning engine with its tuned defaults.
func newLearner() amp.Learner { return learn.New(learn.DefaultConfig()) }

// admin is what an administrative command works with: the service over
// the store, without the HTTP side or background jobs.
type admin struct {
	cfg   *Config
	log   *slog.Logger
	store amp.Store
	svc   *service.Service
}

// openAdmin opens the store of cfg for an administrative command. It is
// safe while `amp serve` runs on the same data directory: SQLite in WAL
// mode lets the two processes share the file, and a write waits for the
// other's lock up to the busy timeout.
func openAdmin(ctx context.Context, e *env, cfg *Config) (*admin, error) {
	log := newLogger(cfg, e.stderr)
	store, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return nil, err
	}
	// `amp usage` reads the stored counts through the service.
	svc, err := service.New(service.Config{Store: store, Learner: newLearner(), Logger: log, Users: store, Usage: store,
		Events: service.EventConfig{AllowPrivateTargets: cfg.WebhookAllowPrivate, RotationAge: cfg.KeyRotationAge}})
	if err != nil {
		store.Close()
		return nil, err
	}
	return &admin{cfg: cfg, log: log, store: store, svc: svc}, nil
}

// Close closes the store; its error matters, since a write may still be
// completing.
func (a *admin) Close() error { return a.store.Close() }

// withAdmin opens the store and service cfg names, runs do with them and
// closes them. do's error wins over Close's; Close's still counts, since a
// write may still be completing.
func withAdmin[T any](ctx context.Context, e *env, cfg *Config, do func(a *admin) (T, error)) (T, error) {
	a, err := openAdmin(ctx, e, cfg)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := do(a)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return v, err
}
