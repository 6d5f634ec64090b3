package postgres_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/amp-protocol/amp/internal/postgres"
)

// TestPoolSize: by default the pool is sized to the machine and held to a
// quarter of the connections the server accepts from ordinary roles;
// WithPoolSize overrides that, and a pool_max_conns in the URL overrides
// both.
func TestPoolSize(t *testing.T) {
	u, _ := newSchema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var maxConns, reserved int
	if err := conn.QueryRow(ctx, `SELECT current_setting('max_connections')::integer,
		current_setting('superuser_reserved_connections')::integer`).Scan(&maxConns, &reserved); err != nil {
		t.Fatal(err)
	}
	want := max(2, min(max(4, 4*runtime.GOMAXPROCS(0)), (maxConns-reserved)/4))
	db := openURL(t, u)
	// Statements are prepared once per connection and reused: without
	// the cache the server spends about twice the CPU per outcome
	// (BenchmarkRecordOutcome with default_query_exec_mode=exec).
	if m := db.QueryExecMode(); m != pgx.QueryExecModeCacheStatement {
		t.Errorf("query exec mode %v, want the statement cache", m)
	}
	if got := db.PoolSize(); got != want {
		t.Errorf("default pool: %d connections, want %d (GOMAXPROCS %d, max_connections %d, reserved %d)",
			got, want, runtime.GOMAXPROCS(0), maxConns, reserved)
	}
	if got := openURL(t, u, postgres.WithPoolSize(3)).PoolSize(); got != 3 {
		t.Errorf("WithPoolSize(3): %d connections", got)
	}
	if got := openURL(t, u+"&pool_max_conns=5", postgres.WithPoolSize(3)).PoolSize(); got != 5 {
		t.Errorf("pool_max_conns=5 in the URL and WithPoolSize(3): %d connections, want 5", got)
	}
}
