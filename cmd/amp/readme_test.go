package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

// readme returns README.md of the repository.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var shBlockRE = regexp.MustCompile("(?ms)^```sh\n(.*?)^```")

// shBlocks returns the contents of README's ```sh blocks, in order.
func shBlocks(t *testing.T) []string {
	var blocks []string
	for _, m := range shBlockRE.FindAllStringSubmatch(readme(t), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no sh blocks")
	}
	return blocks
}

// TestREADMEFirstCommands checks that README starts with the two commands a
// newcomer needs, and that CI runs exactly the README's test command.
func TestREADMEFirstCommands(t *testing.T) {
	blocks := shBlocks(t)
	if got := strings.TrimSpace(blocks[0]); got != "go run ./cmd/amp serve" {
		t.Errorf("README's first command is %q, want go run ./cmd/amp serve", got)
	}
	var testCmd string
	for _, b := range blocks {
		if strings.HasPrefix(b, "go test") {
			testCmd = strings.TrimSpace(b)
			break
		}
	}
	if testCmd == "" || strings.Contains(testCmd, "\n") {
		t.Fatalf("README has no one-line go test command (got %q)", testCmd)
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(testCmd) + `$`).Match(ci) {
		t.Errorf(".ci/run does not run the README's test command %q on a line of its own", testCmd)
	}
}

// TestREADMEExamples runs the README's curl examples verbatim against a
// live server, changing only the base URL, with the key serve printed in
// AMP_API_KEY. Each curl must answer 2xx.
func TestREADMEExamples(t *testing.T) {
	bash, errBash := exec.LookPath("bash")
	curl, errCurl := exec.LookPath("curl")
	if errBash != nil || errCurl != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs bash and curl to run the README's examples: %v %v", errBash, errCurl)
		}
		t.Skipf("bash or curl is absent (%v %v): the README's curl examples cannot run", errBash, errCurl)
	}
	if out, err := exec.Command(curl, "--help", "all").Output(); err != nil || !strings.Contains(string(out), "--fail-with-body") {
		t.Skip("this curl lacks --fail-with-body (curl >= 7.76 needed)")
	}
	s := startServe(t, nil, t.TempDir())
	key := firstKeyRE.FindStringSubmatch(s.Stdout.String())[1]

	var script strings.Builder
	// The wrapper makes a non-2xx answer fail the script; the echo ends
	// each answer's line.
	script.WriteString("set -euo pipefail\ncurl() { command curl --silent --show-error --fail-with-body \"$@\"; echo; }\n")
	n := 0
	for _, b := range shBlocks(t) {
		if !strings.Contains(b, "curl https://api.amp-protocol.dev/v1") && !strings.Contains(b, "curl -X") {
			continue
		}
		n++
		script.WriteString("echo '### example " + string(rune('0'+n)) + "'\n")
		script.WriteString(strings.ReplaceAll(b, "https://api.amp-protocol.dev/v1", s.URL+"/v1"))
	}
	if n < 5 {
		t.Fatalf("found %d curl examples in README.md, want at least 5 (context, outcome, PUT, GET, DELETE)", n)
	}
	cmd := exec.Command(bash, "-c", script.String())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AMP_API_KEY=" + key}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README examples failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"requestId":"req_`, `"success":true,"message":"Outcome reported successfully"`, `"preferredFraming":"achievement"`, `"totalInteractions":1`, `{"success":true}`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the examples' output lacks %s:\n%s", want, out)
		}
	}
	// The last example erased user_123.
	_, err = s.newClient(t, key).GetProfile(context.Background(), "user_123")
	wantCode(t, err, 404, amp.CodeNotFound)
}

var helpFlagRE = regexp.MustCompile(`(?m)^\s+--?([a-z][a-z0-9-]*)`)

// TestREADMEDocumentsEveryCommand checks that README.md mentions every
// command and every flag that `amp CMD -h` lists.
func TestREADMEDocumentsEveryCommand(t *testing.T) {
	text := readme(t)
	var paths [][]string
	for _, c := range commands() {
		switch c.name {
		case "help":
		case "accounts":
			for _, s := range accountCommands() {
				paths = append(paths, []string{"accounts", s.name})
			}
		case "keys":
			for _, s := range keyCommands() {
				paths = append(paths, []string{"keys", s.name})
			}
		default:
			paths = append(paths, []string{c.name})
		}
	}
	for _, p := range paths {
		name := "amp " + strings.Join(p, " ")
		if !strings.Contains(text, name) {
			t.Errorf("README.md does not mention %q", name)
		}
		out, _, err := ampCmd(t, nil, nil, "", append(p, "-h")...)
		if err != nil {
			t.Errorf("%s -h: %v", name, err)
			continue
		}
		for _, m := range helpFlagRE.FindAllStringSubmatch(out, -1) {
			if !strings.Contains(text, "--"+m[1]) {
				t.Errorf("README.md does not document %s --%s", name, m[1])
			}
		}
	}
}
