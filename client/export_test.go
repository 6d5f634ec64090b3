package client

import (
	"context"
	"time"
)

// WithSleep replaces the client's sleep, so tests observe waits instead of
// waiting.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = f }
}

// WithJitter replaces the client's source of jitter.
func WithJitter(f func() float64) Option { return func(c *Client) { c.jitter = f } }
