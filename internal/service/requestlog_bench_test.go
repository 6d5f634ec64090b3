package service_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// BenchmarkFinish measures what the request log adds to the end of every
// request: Finish with the log off, and on (a non-blocking hand-off to the
// queue; Run, which writes it, is not running, so a full queue drops, as
// under a stalled store). Compare the two in one run.
func BenchmarkFinish(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "amp.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, bc := range []struct {
		name string
		log  amp.RequestLogStore
	}{{"log=off", nil}, {"log=on", db}} {
		b.Run(bc.name, func(b *testing.B) {
			svc, err := service.New(service.Config{Store: db, Learner: fixedLearner{}, Requests: bc.log,
				Country: func(string) string { return "FR" }})
			if err != nil {
				b.Fatal(err)
			}
			p := &service.Principal{Key: &amp.APIKey{ID: "key_1", AccountID: "acct_1", Mode: amp.ModeTest}, Account: &amp.Account{ID: "acct_1"}}
			ev := amp.RequestEvent{KeyID: "key_1", AccountID: "acct_1", Mode: amp.ModeTest, Route: "POST /v1/context", Status: 200,
				ClientIP: "203.0.113.1", Duration: time.Millisecond, At: time.Now(), RequestID: "req_x"}
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					svc.Finish(ctx, p, ev)
				}
			})
		})
	}
}
