package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/redis"
)

// openRedis returns the client of the Redis server whose rate buckets and
// monthly quota counts the instances share (cfg.RedisURL), counting its
// failures in reg, the metrics the server serves. An unreachable server is
// not an error:
// the limits fall back to this instance's own until it answers (see
// internal/redis), so that instances can start during a Redis outage; it
// is logged.
func openRedis(cfg *Config, log *slog.Logger, reg *metrics.Metrics) (*redis.Client, error) {
	c, err := redis.Open(cfg.RedisURL, redis.WithLogger(log), redis.WithMetrics(reg))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		log.Warn("redis unreachable at start; this instance limits on its own until it answers", "err", err)
	} else {
		log.Info("rate limits and quotas shared through redis")
	}
	return c, nil
}
