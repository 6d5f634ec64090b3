package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// smallVolume mounts a tmpfs of size bytes for the test, or skips it where
// mounting is not allowed (not root, or in a container without the right).
func smallVolume(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v: %s): the disk-full test needs root", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestDiskFull fills a small volume: writes then fail with ErrUnavailable
// (a 503 with Retry-After, not a 500), Ping fails while they do, and both
// recover by themselves once space is freed. The WAL is truncated after
// checkpoints, so it does not keep the volume full.
func TestDiskFull(t *testing.T) {
	dir := smallVolume(t, 3<<20)
	// Ballast to free later, as an operator would.
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, filepath.Join(dir, "amp.db"))
	defer db.Close()
	ctx := t.Context()
	if err := db.CreateAccount(ctx, &amp.Account{ID: "acct_1", Name: "a", Plan: amp.PlanPro, CreatedAt: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	tn := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	model := make([]byte, 8<<10)
	var err error
	n := 0
	for ; n < 100_000; n++ {
		err = db.SaveDecision(ctx, &amp.Decision{RequestID: fmt.Sprintf("req_%06d", n), Tenant: tn, UserID: fmt.Sprintf("u%06d", n), CreatedAt: time.Unix(1700000000, 0)},
			&amp.ProfileRecord{Model: model})
		if err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("the volume never filled")
	}
	t.Logf("full after %d writes: %v", n, err)
	if !errors.Is(err, amp.ErrUnavailable) {
		t.Fatalf("write on a full disk: %v, want ErrUnavailable", err)
	}
	if got := amp.ErrorCode(err); got != amp.CodeServiceUnavailable {
		t.Fatalf("code %s, want SERVICE_UNAVAILABLE", got)
	}
	if err := db.Ping(ctx); !errors.Is(err, amp.ErrUnavailable) {
		t.Fatalf("Ping while writes fail: %v, want ErrUnavailable", err)
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping once space is free: %v", err)
	}
	if err := db.SaveDecision(ctx, &amp.Decision{RequestID: "req_after", Tenant: tn, UserID: "u_after", CreatedAt: time.Unix(1700000000, 0)},
		&amp.ProfileRecord{Model: []byte("m")}); err != nil {
		t.Fatalf("write once space is free: %v", err)
	}
}
