package service

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amp-protocol/amp"
)

// The request log: the last admitted requests of each account and mode,
// for developers chasing a failing call (searching the requestId of an
// error answer finds it). Finish hands every finished request to a
// bounded queue without blocking; Run writes the queue once a second, in
// writes of requestLogWrite entries, and prunes the log by age and count.
// When the queue is full (the store is slow or down), entries are dropped
// and counted, never waited for: the log is a debugging aid, the meter is
// the record.

// Request log defaults.
const (
	DefaultRequestLogRetention = 7 * 24 * time.Hour
	DefaultRequestLogKeep      = 10_000 // per account and mode
	requestLogQueue            = 8192
	requestLogWrite            = 128 // entries per AppendRequests
	pruneEvery                 = 10 * time.Minute
)

type requestLog struct {
	store     amp.RequestLogStore
	country   func(ip string) string
	retention time.Duration
	keep      int
	queue     chan *amp.RequestLogEntry
	dropped   atomic.Int64
	lastPrune time.Time
}

func newRequestLog(cfg Config) *requestLog {
	if cfg.Requests == nil {
		return nil
	}
	l := &requestLog{store: cfg.Requests, country: cfg.Country, retention: cfg.RequestLogRetention, keep: cfg.RequestLogKeep,
		queue: make(chan *amp.RequestLogEntry, requestLogQueue)}
	if l.retention <= 0 {
		l.retention = DefaultRequestLogRetention
	}
	if l.keep <= 0 {
		l.keep = DefaultRequestLogKeep
	}
	if l.country == nil {
		l.country = func(string) string { return amp.UnknownCountry }
	}
	return l
}

// record queues a finished request, or drops it when the queue is full.
func (l *requestLog) record(ev amp.RequestEvent) {
	e := &amp.RequestLogEntry{Tenant: amp.Tenant{AccountID: ev.AccountID, Mode: ev.Mode}, At: ev.At, KeyID: ev.KeyID, Route: ev.Route,
		Status: ev.Status, Code: ev.Code, Latency: ev.Duration, Country: l.country(ev.ClientIP), RequestID: ev.RequestID}
	select {
	case l.queue <- e:
	default:
		l.dropped.Add(1)
	}
}

// flush writes what is queued, and prunes when due.
func (s *Service) flushRequestLog(ctx context.Context, now time.Time) {
	l := s.requests
	if l == nil {
		return
	}
	var batch []*amp.RequestLogEntry
	for len(batch) < requestLogQueue {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
			continue
		default:
		}
		break
	}
	// Drained entries are written even if ctx ends meanwhile (shutdown):
	// they are out of the queue, and nothing else would write them. They
	// go in writes of at most requestLogWrite entries: a store with one
	// writer (SQLite) makes every request's write wait for the one before,
	// and a second's worth of entries at once held the requests queued
	// behind it for milliseconds, every second.
	wctx := context.WithoutCancel(ctx)
	for len(batch) > 0 {
		part := batch[:min(len(batch), requestLogWrite)]
		batch = batch[len(part):]
		if err := l.store.AppendRequests(wctx, part); err != nil {
			s.log.Warn("writing the request log failed; its entries are lost", "entries", len(part), "err", err)
		}
	}
	if n := l.dropped.Swap(0); n > 0 {
		s.log.Warn("request log entries dropped: the queue was full", "entries", n)
	}
	if now.Sub(l.lastPrune) >= pruneEvery {
		l.lastPrune = now
		if n, err := l.store.PruneRequests(ctx, now.Add(-l.retention), l.keep); err != nil && ctx.Err() == nil {
			s.log.Warn("pruning the request log failed", "err", err)
		} else if n > 0 {
			s.log.Debug("pruned the request log", "entries", n)
		}
	}
}

// RequestLogQuery is a search of the request log as typed in a form.
type RequestLogQuery struct {
	KeyID     string
	Status    string // "", "2xx", "4xx", "5xx" or a status such as "429"
	RequestID string
	Before    time.Time
	Limit     int
}

// RequestLogEnabled reports whether requests are logged.
func (s *Service) RequestLogEnabled() bool { return s.requests != nil }

// RequestLogRetention is how long entries are kept, and how many per
// account and mode at most.
func (s *Service) RequestLogRetention() (time.Duration, int) {
	if s.requests == nil {
		return 0, 0
	}
	return s.requests.retention, s.requests.keep
}

// RequestLog searches the session's account's request log in mode, newest
// first. Every member may read it. INVALID_REQUEST (details.field names
// the field) for a malformed filter.
func (s *Service) RequestLog(ctx context.Context, sess *Session, mode amp.Mode, q RequestLogQuery) ([]*amp.RequestLogEntry, error) {
	if err := s.Allow(sess, amp.PermRead); err != nil {
		return nil, err
	}
	if err := amp.ValidateMode(mode); err != nil {
		return nil, err
	}
	if s.requests == nil {
		return nil, nil
	}
	f := amp.RequestLogFilter{KeyID: strings.TrimSpace(q.KeyID), RequestID: strings.TrimSpace(q.RequestID), Before: q.Before,
		Limit: min(max(q.Limit, 1), amp.MaxRequestLogPage)}
	if len(f.KeyID) > 64 {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "No such key.").WithDetails(map[string]any{"field": "key"})
	}
	if len(f.RequestID) > 64 || strings.ContainsAny(f.RequestID, " \t\r\n") {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "A request id looks like req_ followed by letters and digits.").WithDetails(map[string]any{"field": "request_id"})
	}
	switch st := strings.TrimSpace(q.Status); {
	case st == "":
	case len(st) == 3 && st[1:] == "xx" && st[0] >= '1' && st[0] <= '5':
		f.StatusMin = int(st[0]-'0') * 100
		f.StatusMax = f.StatusMin + 99
	default:
		n, err := strconv.Atoi(st)
		if err != nil || n < 100 || n > 599 {
			return nil, amp.Errorf(amp.CodeInvalidRequest, "status must be 2xx, 4xx, 5xx or a status code such as 429.").WithDetails(map[string]any{"field": "status"})
		}
		f.StatusMin, f.StatusMax = n, n
	}
	es, err := s.requests.store.Requests(ctx, sess.Tenant(mode), f)
	if err != nil {
		return nil, storeError(err, "", "")
	}
	return es, nil
}
