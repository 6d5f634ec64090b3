package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeDiskFull runs amp serve on a small tmpfs and fills it: writes
// answer 503 with Retry-After (never 500), /readyz fails while they do, and
// both recover by themselves once space is freed.
func TestServeDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v: %s): the disk-full test needs root", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	s := startServe(t, nil, data)
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", data, "--name", "full", "--plan", "enterprise", "--rate", "100000"))
	key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", data, "--account", acct, "--mode", "live"))
	meta := `{"metadata":{"k":"` + strings.Repeat("m", 16000) + `"}}`
	put := func(i int) hostileRequest {
		return hostileRequest{method: "PUT", path: fmt.Sprintf("/v1/profile/user_%d", i), body: meta,
			header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}}
	}
	full := -1
	for i := range 2000 {
		res := rawDo(t, s.URL, put(i))
		if res.status == 200 {
			continue
		}
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Fatalf("write %d on a filling disk: HTTP %d, Retry-After %q; want 503 with Retry-After", i, res.status, res.header.Get("Retry-After"))
		}
		full = i
		break
	}
	if full < 0 {
		t.Fatal("the volume never filled")
	}
	t.Logf("full after %d profile writes", full)
	ready := hostileRequest{method: "GET", path: "/readyz"}
	if res := rawDo(t, s.URL, ready); res.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while writes fail: HTTP %d, want 503", res.status)
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if res := rawDo(t, s.URL, ready); res.status != http.StatusOK {
		t.Fatalf("/readyz once space is free: HTTP %d, want 200", res.status)
	}
	if res := rawDo(t, s.URL, put(full)); res.status != http.StatusOK {
		t.Fatalf("a write once space is free: HTTP %d", res.status)
	}
	for line := range strings.Lines(s.Stderr.String()) {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("logged: %s", line)
		}
	}
}
