package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// HTTPAgent plays the simulation against a running AMP server through its
// public API: POST /v1/context and POST /v1/outcome with a Bearer key, in
// the documented wire JSON. It uses plain net/http so that it exercises
// exactly what any integrator sends.
type HTTPAgent struct {
	BaseURL    string // e.g. http://127.0.0.1:8080
	Key        string
	UserPrefix string // userIds are UserPrefix + the user's index
	Client     *http.Client
	// MaxRetries bounds the retries of one request answered 429 or 503;
	// each waits for the Retry-After the server sends (1 s without one).
	MaxRetries int
	// Sleep waits between retries; a context-aware time.Sleep when nil.
	Sleep func(ctx context.Context, d time.Duration) error

	// Retried counts requests that had to be retried.
	Retried int

	phases phaseCounter
}

// Phases reports what the server answered by the profile phase it gave.
func (h *HTTPAgent) Phases() []PhaseStats { return h.phases.stats() }

// NewHTTPAgent returns an agent for the server at baseURL.
func NewHTTPAgent(baseURL, key, userPrefix string) *HTTPAgent {
	return &HTTPAgent{
		BaseURL:    strings.TrimRight(baseURL, "/"),
		Key:        key,
		UserPrefix: userPrefix,
		Client:     &http.Client{Timeout: 30 * time.Second},
		MaxRetries: 20,
	}
}

// APIError is a non-2xx answer of the server.
type APIError struct {
	Status int
	Body   amp.ErrorBody
}

func (e *APIError) Error() string {
	if e.Body.Error.Code != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Body.Error.Code, e.Body.Error.Message)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// Decide implements Agent.
func (h *HTTPAgent) Decide(ctx context.Context, it *Interaction) (amp.Recommendation, any, error) {
	req := amp.ContextRequest{
		UserID:     fmt.Sprintf("%s%d", h.UserPrefix, it.User.Index),
		Task:       it.Context.Task,
		Complexity: it.Context.Complexity,
		TaskType:   it.Context.TaskType,
	}
	var resp amp.Context
	if err := h.post(ctx, "/v1/context", &req, &resp); err != nil {
		return amp.Recommendation{}, nil, err
	}
	r := resp.Recommendation
	if _, err := r.Options(); err != nil {
		return amp.Recommendation{}, nil, fmt.Errorf("server answered: %w", err)
	}
	if resp.RequestID == "" {
		return amp.Recommendation{}, nil, errors.New("server answered without a requestId")
	}
	h.phases.add(resp.Metadata.ProfilePhase, resp.Metadata.ExplorationMode, resp.Confidence)
	return r, httpTicket{id: resp.RequestID, conf: resp.Confidence}, nil
}

// Report implements Agent.
func (h *HTTPAgent) Report(ctx context.Context, ticket any, o *amp.OutcomeRequest) error {
	body := *o
	body.RequestID = ticket.(httpTicket).id
	var resp amp.OutcomeResponse
	if err := h.post(ctx, "/v1/outcome", &body, &resp); err != nil {
		return err
	}
	if !resp.Success {
		return fmt.Errorf("outcome not accepted: %q", resp.Message)
	}
	return nil
}

// httpTicket is a decision the server answered: its requestId and the
// confidence it gave.
type httpTicket struct {
	id   string
	conf float64
}

func (h *HTTPAgent) confidence(ticket any) (float64, bool) {
	return ticket.(httpTicket).conf, true
}

func (h *HTTPAgent) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.BaseURL+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+h.Key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.Client.Do(req)
		if err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
		if resp.StatusCode/100 == 2 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("POST %s: decode response: %w", path, err)
			}
			return nil
		}
		apiErr := &APIError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, &apiErr.Body) // a body that is not the envelope leaves only the status
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !retryable || attempt >= h.MaxRetries || apiErr.Body.Error.Code == amp.CodeQuotaExceeded {
			return fmt.Errorf("POST %s: %w", path, apiErr)
		}
		h.Retried++
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		if err := h.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (h *HTTPAgent) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
