package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp/client"
)

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls until re matches the buffer and returns the submatches.
// The deadline only bounds a hung test; nothing is asserted about time.
func (b *lockedBuffer) waitFor(t testing.TB, re *regexp.Regexp, done <-chan struct{}) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m
		}
		select {
		case <-done:
			if m := re.FindStringSubmatch(b.String()); m != nil {
				return m
			}
			t.Fatalf("the command ended before printing %q; output:\n%s", re, b.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no %q in output:\n%s", re, b.String())
	return nil
}

// mapEnv is a getenv over a map: tests see no variable of the real
// environment.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// logs collects the standard error of every command a test runs, for the
// secret-leak test.
type logs struct {
	mu  sync.Mutex
	all []*lockedBuffer
}

func (l *logs) add(b *lockedBuffer) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.all = append(l.all, b)
	l.mu.Unlock()
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sb strings.Builder
	for _, b := range l.all {
		sb.WriteString(b.String())
	}
	return sb.String()
}

// amp runs one command to completion in-process and returns its standard
// output and error.
func ampCmd(t testing.TB, lg *logs, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb lockedBuffer
	lg.add(&errb)
	err = run(context.Background(), args, mapEnv(env), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// mustAmp runs a command that must succeed and returns its standard output.
func mustAmp(t testing.TB, lg *logs, args ...string) string {
	t.Helper()
	out, errOut, err := ampCmd(t, lg, nil, "", args...)
	if err != nil {
		t.Fatalf("amp %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// testServer is `amp serve` running in-process.
type testServer struct {
	URL    string // e.g. http://127.0.0.1:41234
	Stdout *lockedBuffer
	Stderr *lockedBuffer
	stop   func() error
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServe runs `amp serve --addr 127.0.0.1:0 --data dir` in-process until
// the test ends (or Stop), and waits until it listens.
func startServe(t testing.TB, lg *logs, dir string, extra ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}}
	lg.add(s.Stderr)
	done := make(chan struct{})
	var runErr error
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, extra...)
	go func() {
		defer close(done)
		runErr = run(ctx, args, mapEnv(nil), strings.NewReader(""), s.Stdout, s.Stderr)
	}()
	var once sync.Once
	s.stop = func() error {
		once.Do(func() {
			cancel()
			<-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("amp serve: %v\nstderr:\n%s", err, s.Stderr.String())
		}
	})
	s.URL = s.Stdout.waitFor(t, listeningRE, done)[1]
	return s
}

// Stop shuts the server down gracefully and returns run's error.
func (s *testServer) Stop() error { return s.stop() }

// firstKeyRE finds the test key serve prints on first start.
var firstKeyRE = regexp.MustCompile(`(?m)^\s+(amp_sk_test_[0-9A-Za-z]{30})\s*$`)

// newClient returns a client of the server with key, without retries, so
// that every answer is seen as it is.
func (s *testServer) newClient(t testing.TB, key string) *client.Client {
	t.Helper()
	c, err := client.New(key, client.WithBaseURL(s.URL+"/v1"), client.WithMaxRetries(0), client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantCode fails unless err is a *client.Error with the code and status.
func wantCode(t testing.TB, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want HTTP %d %s", err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("got HTTP %d %s (%s), want HTTP %d %s", e.Status, e.Code, e.Message, status, code)
	}
}

// shellWords splits a one-line POSIX shell command into words: single
// quotes keep everything, double quotes allow \" \\ \$ escapes. It is
// enough for the curl lines amp prints and refuses anything fancier.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte(`"\$`, line[i+1]) >= 0 {
					i++
				} else if line[i] == '$' || line[i] == '`' {
					return nil, fmt.Errorf("expansion in double quotes is not supported")
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			inWord = true
		case strings.IndexByte("$`|;&<>()\\", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not supported", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
