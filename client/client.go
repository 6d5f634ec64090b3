package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// Defaults of a new Client.
const (
	DefaultBaseURL    = "https://api.amp-protocol.dev/v1"
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 2
)

// Version is the client's version, sent in the User-Agent header.
const Version = "0.1.0"

// Backoff bounds: the n-th retry waits a random time in [0, min(maxBackoff,
// baseBackoff·2ⁿ)) unless the server said how long to wait.
const (
	baseBackoff = 500 * time.Millisecond
	maxBackoff  = 8 * time.Second
	// maxServerWait is the longest Retry-After the client waits out; a
	// longer one is returned to the caller, who knows better whether to wait.
	maxServerWait = time.Minute
	// maxResponseBytes bounds what is read of a response: AMP's are small,
	// and a misconfigured base URL must not make the client read gigabytes.
	maxResponseBytes = 4 << 20
)

// Client calls the AMP API. It is safe for concurrent use.
type Client struct {
	apiKey     string
	baseURL    string
	http       *http.Client
	timeout    time.Duration
	maxRetries int
	userAgent  string
	// sleep waits d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a float in [0, 1); tests replace it.
	jitter func() float64
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets the API's base URL, including the version path, e.g.
// "http://127.0.0.1:8080/v1" for a local server.
func WithBaseURL(u string) Option { return func(c *Client) { c.baseURL = u } }

// WithHTTPClient sets the HTTP client that sends requests; its Timeout, if
// any, applies in addition to WithTimeout.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTimeout bounds each attempt of a call (0 disables the bound); retries
// get a fresh timeout each. The call's context bounds the whole call.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithMaxRetries sets how many times a call is retried after a 429, a 503
// or a network error; 0 disables retries.
func WithMaxRetries(n int) Option { return func(c *Client) { c.maxRetries = n } }

// New returns a client authenticating with apiKey. An empty apiKey is taken
// from the environment: AMP_API_KEY, then AMP_KEY.
func New(apiKey string, opts ...Option) (*Client, error) {
	c := &Client{
		apiKey:     apiKey,
		baseURL:    DefaultBaseURL,
		http:       http.DefaultClient,
		timeout:    DefaultTimeout,
		maxRetries: DefaultMaxRetries,
		userAgent:  "amp-go/" + Version,
		sleep:      sleepCtx,
		jitter:     rand.Float64,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.apiKey == "" {
		c.apiKey = os.Getenv("AMP_API_KEY")
	}
	if c.apiKey == "" {
		c.apiKey = os.Getenv("AMP_KEY")
	}
	if c.apiKey == "" {
		return nil, errors.New("amp client: no API key: pass one to New or set AMP_API_KEY")
	}
	if strings.ContainsAny(c.apiKey, " \t\r\n") {
		return nil, errors.New("amp client: the API key contains whitespace")
	}
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("amp client: base URL %q must be an absolute http(s) URL", c.baseURL)
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	return c, nil
}

// Bool returns a pointer to b, for the optional fields of requests.
func Bool(b bool) *bool { return &b }

// Float returns a pointer to f, for the optional fields of requests.
func Float(f float64) *float64 { return &f }

// GetContext asks how to present a task to a user (POST /v1/context).
func (c *Client) GetContext(ctx context.Context, req amp.ContextRequest) (*amp.Context, error) {
	var out amp.Context
	if err := c.do(ctx, http.MethodPost, "/context", req, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportOutcome reports what happened after a context (POST /v1/outcome).
func (c *Client) ReportOutcome(ctx context.Context, req amp.OutcomeRequest) error {
	var out amp.OutcomeResponse
	// A retry after a lost answer may find the outcome already stored by
	// the attempt whose answer was lost: that is the success we wanted.
	alreadyIsSuccess := func(e *Error) bool { return e.Code == amp.CodeOutcomeAlreadyReported }
	return c.do(ctx, http.MethodPost, "/outcome", req, &out, alreadyIsSuccess)
}

// UpdateProfile sets some of a user's preferences (PUT /v1/profile/{userId})
// and returns the whole profile. Fields left nil do not change.
func (c *Client) UpdateProfile(ctx context.Context, userID string, u amp.ProfileUpdate) (*amp.Profile, error) {
	var out amp.Profile
	if err := c.do(ctx, http.MethodPut, profilePath(userID), u, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetProfile returns a user's profile (GET /v1/profile/{userId}); an
// unknown user is an *Error with code NOT_FOUND.
func (c *Client) GetProfile(ctx context.Context, userID string) (*amp.Profile, error) {
	var out amp.Profile
	if err := c.do(ctx, http.MethodGet, profilePath(userID), nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProfile erases a user's profile and history (DELETE
// /v1/profile/{userId}).
func (c *Client) DeleteProfile(ctx context.Context, userID string) error {
	var out amp.DeleteResponse
	return c.do(ctx, http.MethodDelete, profilePath(userID), nil, &out, nil)
}

func profilePath(userID string) string { return "/profile/" + url.PathEscape(userID) }

// do sends one call, retrying as the package documentation says, and
// decodes a 2xx body into out. After an attempt that failed on the network,
// a later *Error for which lostAnswerOK returns true counts as success.
func (c *Client) do(ctx context.Context, method, path string, in, out any, lostAnswerOK func(*Error) bool) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("amp client: encode request: %w", err)
		}
	}
	lostAnswer := false
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, method, path, body, out)
		if err == nil {
			return nil
		}
		var apiErr *Error
		isAPIErr := errors.As(err, &apiErr)
		if isAPIErr && lostAnswer && lostAnswerOK != nil && lostAnswerOK(apiErr) {
			return nil
		}
		if attempt >= c.maxRetries || ctx.Err() != nil {
			return err
		}
		var wait time.Duration
		switch {
		case isAPIErr && apiErr.retryable():
			wait = apiErr.RetryAfter
		case !isAPIErr && errors.As(err, new(*networkError)):
			lostAnswer = true
		default:
			return err
		}
		if wait > maxServerWait {
			return err
		}
		if wait <= 0 {
			ceiling := maxBackoff
			if attempt < 8 {
				ceiling = min(maxBackoff, baseBackoff<<attempt)
			}
			wait = time.Duration(c.jitter() * float64(ceiling))
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// networkError is a failure to get an answer at all: the request may or
// may not have reached the server.
type networkError struct{ err error }

func (e *networkError) Error() string { return "amp client: " + e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// attempt sends one request and decodes its answer.
func (c *Client) attempt(ctx context.Context, method, path string, body []byte, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return fmt.Errorf("amp client: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &networkError{err: redactKey(err, c.apiKey)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &networkError{err: fmt.Errorf("read %s %s response: %w", method, path, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("amp client: decode %s %s response (HTTP %d): %w", method, path, resp.StatusCode, err)
	}
	return nil
}

// redactKey makes sure an error about a request never quotes the key; the
// standard library does not put headers in errors, but a custom transport
// might.
func redactKey(err error, key string) error {
	if key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), key, "[redacted]"))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter reads the server's wait from the Retry-After header (whole
// seconds or an HTTP date) or from details.retryAfter (seconds).
func retryAfter(h http.Header, details map[string]any, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(now))
		}
	}
	if secs, ok := details["retryAfter"].(float64); ok && secs >= 0 && secs < 1e6 {
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}
