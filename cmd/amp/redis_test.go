package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

func TestConfigRedisURL(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"Empty", "", true},
		{"Redis", "redis://127.0.0.1:6379/0", true},
		{"TLS", "rediss://:secret@redis.internal:6380/2", true},
		{"Postgres", "postgres://127.0.0.1/amp", false},
		{"NoScheme", "127.0.0.1:6379", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if err := cfg.ApplyEnv(mapEnv(map[string]string{"AMP_REDIS_URL": tc.value})); err != nil {
				t.Fatal(err)
			}
			if cfg.RedisURL != tc.value {
				t.Fatalf("RedisURL = %q, want %q", cfg.RedisURL, tc.value)
			}
			err := cfg.Validate()
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "RedisURL" || fe.Flag != "redis-url" || fe.Env != "AMP_REDIS_URL" {
				t.Fatalf("got %v, want a FieldError of RedisURL", err)
			}
		})
	}
	// The password of a refused URL is not quoted back.
	cfg := DefaultConfig()
	cfg.RedisURL = "http://:hunter2@redis.internal:6379"
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v, want an error without the password", err)
	}
}

// serve takes --redis-url, and refuses a bad one before starting.
func TestServeRedisURLFlag(t *testing.T) {
	_, _, err := ampCmd(t, nil, nil, "", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--redis-url", "localhost:6379")
	if err == nil || !strings.Contains(err.Error(), "redis://") {
		t.Fatalf("got %v, want a usage error naming redis://", err)
	}
}

// With Redis unreachable, serve starts and answers: the limits fall back
// to the instance's own (internal/redis), and the outage is logged and
// counted in the metrics the server serves.
func TestServeWithRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + ln.Addr().String() + "/0"
	ln.Close() // nothing listens there now
	const token = "metrics-token-0123456789"
	s := startServe(t, nil, t.TempDir(), "--redis-url", dead, "--metrics-token", token)
	m := firstKeyRE.FindStringSubmatch(s.Stdout.String())
	if m == nil {
		t.Fatalf("no first key printed:\n%s", s.Stdout.String())
	}
	c := s.newClient(t, m[1])
	for i := range 12 {
		_, err := c.GetContext(context.Background(), amp.ContextRequest{UserID: "u", Task: "t"})
		if i < 10 && err != nil {
			t.Fatalf("request %d with Redis down: %v", i+1, err)
		}
		// The starter plan's 10/s still holds, per instance.
		if i == 11 && client.ErrorCode(err) != amp.CodeRateLimitExceeded {
			t.Fatalf("request 12 in a burst: got %v, want RATE_LIMIT_EXCEEDED from the fallback bucket", err)
		}
	}
	if log := s.Stderr.String(); !strings.Contains(log, "redis unreachable") {
		t.Fatalf("the outage is not logged:\n%s", log)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	// The first failed call marks Redis down for a second, and the calls
	// meanwhile go to the fallback without trying Redis: which operation
	// failed first (a live key reserves quota before it takes a token)
	// depends on the key, so either counts.
	m = regexp.MustCompile(`(?m)^amp_store_errors_total\{op="redis_(?:rate|quota)"\} (\d+)$`).FindStringSubmatch(string(body))
	if m == nil || m[1] == "0" {
		t.Fatalf("the failed Redis calls are not in /metrics:\n%s", body)
	}
}
