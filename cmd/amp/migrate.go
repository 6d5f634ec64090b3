package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "migrate", "[--data DIR | --database-url URL]", `
Apply the schema migrations built into this binary to the configured
database, then exit: SQLite at DIR/amp.db (created if absent), or
PostgreSQL when --database-url (AMP_DATABASE_URL) is set.

serve migrates on start as well, so this is optional; run it as the deploy
step before starting new instances, so that none of them starts on an
older schema or waits for another's migration. Migrations are additive
and each runs in one transaction; on PostgreSQL an advisory lock makes
concurrent runs (of migrate or serve) wait for each other. It prints the
kind of database migrated; the migrations applied are logged.`, adminSettings...)
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	cfg := &cl.cfg
	log := newLogger(cfg, e.stderr)
	store, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s database schema is up to date\n", storeKind(cfg))
	return nil
}
