// Package sdk_test runs the TypeScript and Python client libraries' own test
// suites from `go test ./...`, against a real `amp serve` built from this
// checkout, so that the one README test command covers them too.
package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildServer builds the amp binary once for the SDK suites.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "amp")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/amp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/amp: %v\n%s", err, out)
	}
	return bin
}

// run runs name with args in dir with AMP_BIN set, streaming nothing unless
// it fails.
func run(t *testing.T, dir, bin, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AMP_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out)
	}
	t.Logf("%s %v: ok (%d bytes of output)", name, args, len(out))
}

func TestTypeScriptSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the TypeScript SDK suite is skipped")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: TypeScript SDK tests skipped (.ci/run installs it)")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not found: TypeScript SDK tests skipped (.ci/run installs it)")
	}
	bin := buildServer(t)
	if _, err := os.Stat(filepath.Join("typescript", "node_modules", "ai")); err != nil {
		run(t, "typescript", bin, "npm", "ci", "--no-audit", "--no-fund")
	}
	run(t, "typescript", bin, "npm", "test")
}

func TestPythonSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Python SDK suite is skipped")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: Python SDK tests skipped (.ci/run installs it)")
	}
	bin := buildServer(t)
	run(t, "python", bin, "python3", "-m", "unittest", "discover", "-s", "tests")
}
