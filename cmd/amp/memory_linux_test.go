package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// procKiB reads a "VmRSS"-style field of /proc/PID/status, in KiB.
func procKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// floodProfiles stores n worst-case profiles through the API of a child
// server: a userId of the maximum 256 bytes and metadata of the maximum
// 16 KiB each, from 8 clients at once. It returns the child's resident
// memory before and at its peak, in MiB.
func floodProfiles(t *testing.T, bin string, n int, extra ...string) (before, peak float64) {
	t.Helper()
	dir := t.TempDir()
	acct := runBin(t, bin, "accounts", "create", "--data", dir, "--name", "flood", "--plan", "enterprise", "--rate", "1000000")
	key := runBin(t, bin, "keys", "create", "--data", dir, "--account", acct, "--mode", "live")
	cs := startChild(t, bin, "flood", append([]string{"--data", dir}, extra...))
	meta := []byte(`{"metadata":{"k":"` + strings.Repeat("m", 16<<10-len(`{"k":""}`)) + `"}}`)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: hostileTimeout}
	put := func(i int) error {
		id := fmt.Sprintf("%08d", i) + strings.Repeat("u", 248)
		req, _ := http.NewRequest("PUT", cs.URL+"/v1/profile/"+id, bytes.NewReader(meta))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("PUT profile %d: HTTP %d", i, res.StatusCode)
		}
		return nil
	}
	for i := range 200 { // warm up: connections, pools, code paths
		if err := put(n + i); err != nil {
			t.Fatal(err)
		}
	}
	pid := cs.cmd.Process.Pid
	before = float64(procKiB(t, pid, "VmRSS")) / 1024
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				if err := put(i); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		t.Fatal(*p)
	}
	return before, float64(procKiB(t, pid, "VmHWM")) / 1024
}

// TestServeMemoryBoundUnderFlood floods amp serve with worst-case profiles,
// four times its cache budget's worth, and checks that its memory grows by
// the budget at most, against the same flood on a server without the
// cache (which measures everything but the cache: SQLite's page caches,
// buffers, the garbage collector's headroom).
func TestServeMemoryBoundUnderFlood(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a flood of 8,000 16 KiB profiles; memory under the race detector is not the binary's")
	}
	bin := ampBinary(t)
	const budget = 32 // MiB
	const n = 8000    // about 4 × budget of worst-case entries
	b0, p0 := floodProfiles(t, bin, n, "--cache-size", "0")
	b1, p1 := floodProfiles(t, bin, n, "--cache-size", strconv.Itoa(budget)+"MiB")
	t.Logf("no cache: RSS %.0f MiB before, %.0f MiB peak (+%.0f); cache %d MiB: %.0f before, %.0f peak (+%.0f)",
		b0, p0, p0-b0, budget, b1, p1, p1-b1)
	// The cache's share, with the garbage collector's headroom over it
	// (GOGC=100: the heap may reach twice what is live).
	if extra := (p1 - b1) - (p0 - b0); extra > 2*budget+16 {
		t.Errorf("with a %d MiB cache the flood took %.0f MiB more than without it, want at most %d", budget, extra, 2*budget+16)
	}
}
