//go:build unix

package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// TestFilesHoldingSecretsAreOwnerOnly: the database, its WAL and a backup
// hold key and password hashes, so whatever the umask they are 0600.
func TestFilesHoldingSecretsAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "amp.db"))
	defer db.Close()
	ctx := t.Context()
	if err := db.CreateAccount(ctx, &amp.Account{ID: "acct_1", Name: "a", Plan: amp.PlanPro, CreatedAt: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	for _, name := range []string{"amp.db", "amp.db-wal", "amp.db-shm", "backup.db"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, m)
		}
	}
}
