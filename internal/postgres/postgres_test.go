package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
	"github.com/amp-protocol/amp/internal/storetest"
)

// The tests need a PostgreSQL server: AMP_TEST_POSTGRES_URL names a
// database on it (normally the admin database, "postgres") as a user that
// may create databases. scripts/pg-test-server.sh starts a throwaway one:
//
//	export AMP_TEST_POSTGRES_URL="$(scripts/pg-test-server.sh start)"
//
// A test run creates one database, amp_test_<random>, so that runs in
// parallel (other packages, other checkouts) never share rows, and drops it
// at the end. Inside it every store a test opens gets a schema of its own,
// which is much cheaper than a database per store and isolates them just as
// well: each store's tables, migrations included, live in its schema.
const envURL = "AMP_TEST_POSTGRES_URL"

var testDB struct {
	once sync.Once
	url  string // of the run's database
	name string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if admin.conn != nil {
		admin.conn.Close(context.Background())
	}
	if testDB.name != "" {
		if err := dropDatabase(os.Getenv(envURL), testDB.name); err != nil {
			fmt.Fprintf(os.Stderr, "drop test database %s: %v\n", testDB.name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// runDatabase returns the URL of this run's database, creating it on first
// use; it skips the test when no server is configured.
func runDatabase(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(envURL)
	if admin == "" {
		tb.Skip(envURL + " not set: PostgreSQL tests skipped (.ci/run starts a server)")
	}
	testDB.once.Do(func() {
		name := "amp_test_" + randomHex(tb, 8)
		conn, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			testDB.err = fmt.Errorf("connect to %s: %w", envURL, err)
			return
		}
		defer conn.Close(context.Background())
		// name is hex: safe to splice into the statement.
		if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
			testDB.err = fmt.Errorf("create database: %w", err)
			return
		}
		testDB.name = name
		testDB.url, testDB.err = withParams(admin, name, nil)
	})
	if testDB.err != nil {
		tb.Fatal(testDB.err)
	}
	return testDB.url
}

func dropDatabase(admin, name string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// FORCE ends connections a failed test may have left open.
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}

// admin is one connection to the run's database for creating and dropping
// schemas: a connection costs more than the statements it runs.
var admin struct {
	mu   sync.Mutex
	conn *pgx.Conn
}

// adminExec runs a statement on the admin connection.
func adminExec(tb testing.TB, sql string) {
	tb.Helper()
	base := runDatabase(tb)
	admin.mu.Lock()
	defer admin.mu.Unlock()
	ctx := context.Background()
	if admin.conn == nil || admin.conn.IsClosed() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Fatal(err)
		}
		admin.conn = conn
	}
	if _, err := admin.conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// newSchema creates an empty schema in the run's database and returns a
// URL whose connections use it (and an application_name naming it, so that
// a test can find its own connections in pg_stat_activity). The schema is
// dropped when the test ends.
func newSchema(tb testing.TB) (storeURL, schema string) {
	tb.Helper()
	base := runDatabase(tb)
	schema = "s_" + randomHex(tb, 6)
	adminExec(tb, "CREATE SCHEMA "+schema)
	tb.Cleanup(func() { adminExec(tb, "DROP SCHEMA "+schema+" CASCADE") })
	storeURL, err := withParams(base, "", map[string]string{"search_path": schema, "application_name": "amp_" + schema})
	if err != nil {
		tb.Fatal(err)
	}
	return storeURL, schema
}

// openStore opens a store on a new schema, closed when the test ends.
func openStore(tb testing.TB, opts ...postgres.Option) *postgres.DB {
	tb.Helper()
	u, _ := newSchema(tb)
	return openURL(tb, u, opts...)
}

// openURL opens another store (another "instance") on the database at u.
func openURL(tb testing.TB, u string, opts ...postgres.Option) *postgres.DB {
	tb.Helper()
	opts = append([]postgres.Option{postgres.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	db, err := postgres.Open(context.Background(), u, opts...)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

// withParams returns the connection string s with its database replaced by
// dbname (unless empty) and the parameters set, in URL or key=value form.
func withParams(s, dbname string, params map[string]string) (string, error) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", envURL, err)
		}
		if dbname != "" {
			u.Path = "/" + dbname
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if dbname != "" {
		s += " dbname=" + dbname
	}
	for k, v := range params {
		s += " " + k + "=" + v
	}
	return s, nil
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestStore runs the conformance suite: every store on a schema of its
// own, reopened on the same schema for the suite's durability checks.
func TestStore(t *testing.T) {
	runDatabase(t) // skips before any subtest when no server is configured
	var mu sync.Mutex
	urls := map[amp.Store]string{}
	storetest.Run(t, func(t *testing.T) amp.Store {
		u, _ := newSchema(t)
		db := openUnclosed(t, u)
		mu.Lock()
		urls[db] = u
		mu.Unlock()
		return db
	}, storetest.Reopen(func(t *testing.T, closed amp.Store) amp.Store {
		mu.Lock()
		u, ok := urls[closed]
		mu.Unlock()
		if !ok {
			t.Fatal("Reopen: not a store of this test")
		}
		db := openUnclosed(t, u)
		mu.Lock()
		urls[db] = u
		mu.Unlock()
		return db
	}))
}

// openUnclosed opens a store whose Close is left to the caller, as
// storetest.Run wants.
func openUnclosed(t *testing.T, u string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), u, postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

// TestUsageStore runs the usage conformance suite, reopening on the same
// schema.
func TestUsageStore(t *testing.T) {
	runDatabase(t)
	var mu sync.Mutex
	urls := map[storetest.UsageBackend]string{}
	open := func(t *testing.T, u string) storetest.UsageBackend {
		db := openUnclosed(t, u)
		mu.Lock()
		urls[db] = u
		mu.Unlock()
		return db
	}
	storetest.RunUsage(t, func(t *testing.T) storetest.UsageBackend {
		u, _ := newSchema(t)
		return open(t, u)
	}, storetest.ReopenUsage(func(t *testing.T, closed storetest.UsageBackend) storetest.UsageBackend {
		mu.Lock()
		u, ok := urls[closed]
		mu.Unlock()
		if !ok {
			t.Fatal("ReopenUsage: not a store of this test")
		}
		return open(t, u)
	}))
}

// TestDashboardStore runs the dashboard conformance suite.
func TestDashboardStore(t *testing.T) {
	runDatabase(t)
	storetest.RunDashboard(t, func(t *testing.T) storetest.DashboardBackend {
		u, _ := newSchema(t)
		return openUnclosed(t, u)
	})
}

// TestWebhookStore runs the webhook conformance suite, reopening on the
// same schema.
func TestWebhookStore(t *testing.T) {
	runDatabase(t)
	var mu sync.Mutex
	urls := map[storetest.WebhookBackend]string{}
	storetest.RunWebhooks(t, func(t *testing.T) storetest.WebhookBackend {
		u, _ := newSchema(t)
		db := openUnclosed(t, u)
		mu.Lock()
		urls[db] = u
		mu.Unlock()
		return db
	}, func(t *testing.T, closed storetest.WebhookBackend) storetest.WebhookBackend {
		mu.Lock()
		u, ok := urls[closed]
		mu.Unlock()
		if !ok {
			t.Fatal("reopen: not a store of this test")
		}
		return openUnclosed(t, u)
	})
}

// TestRequestLogStore runs the request log conformance suite.
func TestRequestLogStore(t *testing.T) {
	runDatabase(t)
	storetest.RunRequestLog(t, func(t *testing.T) amp.RequestLogStore {
		u, _ := newSchema(t)
		return openUnclosed(t, u)
	})
}

// TestProfileList runs the profile list conformance suite.
func TestProfileList(t *testing.T) {
	runDatabase(t)
	storetest.RunProfileList(t, func(t *testing.T) storetest.ProfileListBackend {
		u, _ := newSchema(t)
		return openUnclosed(t, u)
	})
}
