package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// backuper is a store that can copy itself while serving; the SQLite store
// is one.
type backuper interface {
	Backup(ctx context.Context, destPath string) error
}

func runBackup(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "backup", "--data DIR --out FILE", `
Write a consistent copy of the SQLite database, as of one moment, to FILE,
which must not exist, readable by its owner only (0600: it holds key and
password hashes). It is safe while amp serve runs: the copy is taken
online. To restore, stop the server and put the copy in place as
DIR/amp.db. With PostgreSQL use pg_dump instead.`, adminSettings...)
	out := cl.fs.String("out", "", "the backup `FILE` to create")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("out", *out); err != nil {
		return err
	}
	if cl.cfg.DatabaseURL != "" {
		return errors.New("amp backup copies the SQLite database; back PostgreSQL up with pg_dump")
	}
	dest, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	a, err := openAdmin(ctx, e, &cl.cfg)
	if err != nil {
		return err
	}
	b, ok := a.store.(backuper)
	if !ok {
		a.Close()
		return errors.New("this store cannot be backed up online")
	}
	err = b.Backup(ctx, dest)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s\n", filepath.Join(cl.cfg.DataDir, DatabaseFile), dest)
	return nil
}
