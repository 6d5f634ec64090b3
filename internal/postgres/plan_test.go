package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	amp "github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
)

// TestOutcomeLockPlanOnYoungTables checks the plan of the statement that
// finds and locks an outcome's profile where it once went wrong: tables
// analysed while they held a few rows, then grown within autovacuum's
// minute, with the generic plan that prepared statements settle on. There
// the lookup of the decision by its primary key went through another
// index, scanning the tenant. Once the store has logged its first
// decisions it analyses the tables itself; after that the statement must
// be two primary-key lookups and no join.
func TestOutcomeLockPlanOnYoungTables(t *testing.T) {
	u, _ := newSchema(t)
	db := openURL(t, u, postgres.WithAnalyzeAt(3)) // migrates the schema
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		"ALTER TABLE decisions SET (autovacuum_enabled = false)",
		"ALTER TABLE profiles SET (autovacuum_enabled = false)",
		`INSERT INTO profiles (account_id, mode, user_id, created_at, updated_at)
			SELECT 'acct_1', 'live', 'user_' || i, now(), now() FROM generate_series(1, 3) i`,
		`INSERT INTO decisions SELECT 'acct_1', 'live', 'req_' || lpad(i::text, 8, '0'), 'user_' || (i % 3 + 1), 't', 'medium',
			'learning', 'technical', 'hints_only', 'moderate', 0.25, false, false, 0.3, 0, now() FROM generate_series(1, 5) i`,
		"ANALYZE decisions", "ANALYZE profiles",
		`INSERT INTO profiles (account_id, mode, user_id, created_at, updated_at)
			SELECT 'acct_1', 'live', 'user_' || i, now(), now() FROM generate_series(4, 2000) i`,
		`INSERT INTO decisions SELECT 'acct_1', 'live', 'req_' || lpad(i::text, 8, '0'), 'user_' || (i % 2000 + 1), 't', 'medium',
			'learning', 'technical', 'hints_only', 'moderate', 0.25, false, false, 0.3, 0, now() FROM generate_series(6, 20000) i`,
		"SET plan_cache_mode = force_generic_plan",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Logf("with the young statistics, the decision is found through %s", decisionIndex(t, conn))

	// The store's third decision since it opened has it analyse the tables.
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	for i := range 3 {
		if err := db.SaveDecision(ctx, decision(tenant, fmt.Sprintf("req_new_%d", i), "user_1", testNow), nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for db.Analyzed() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the store did not analyse its tables after its third decision")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if index := decisionIndex(t, conn); index != "decisions_pkey" {
		t.Errorf("after the store's ANALYZE, the decision is found through %s, want decisions_pkey", index)
	}
}

// decisionIndex plans the statement that locks an outcome's profile
// (generically, as a prepared statement is after a few runs), checks that
// it has no join and finds the profile by its primary key, and returns the
// index through which it finds the decision.
func decisionIndex(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx := context.Background()
	// A new name each time: a statement prepared earlier keeps its plan.
	prepared++
	name := fmt.Sprintf("lock_profile_%d", prepared)
	if _, err := conn.Exec(ctx, "PREPARE "+name+"(text, text, text) AS "+postgres.ReadDecisionsProfile); err != nil {
		t.Fatal(err)
	}
	var plan []byte
	if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) EXECUTE "+name+"('acct_1', 'live', 'req_00010000')").Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var nodes []struct{ Plan planNode }
	if err := json.Unmarshal(plan, &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	scans := map[string]string{} // relation → index
	var walk func(n planNode)
	walk = func(n planNode) {
		if strings.Contains(n.NodeType, "Join") || n.NodeType == "Nested Loop" || strings.HasPrefix(n.NodeType, "Seq Scan") {
			t.Errorf("plan has a %s node:\n%s", n.NodeType, plan)
		}
		if n.Relation != "" {
			scans[n.Relation] = n.Index
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(nodes[0].Plan)
	if scans["profiles"] != "profiles_pkey" {
		t.Errorf("scans %v, want profiles_pkey for the profile:\n%s", scans, plan)
	}
	return scans["decisions"]
}

var prepared int

type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Plans    []planNode `json:"Plans"`
}

// TestAnalyzeAsOutcomesAccumulate: the outcomes table fills after the
// decisions, so a store that analysed its tables at its decisions' counts
// alone would leave outcomes with the statistics of an empty table, and
// the check of whether a decision was reported with a plan that scans
// them all. The store analyses again when its stored outcomes reach the
// same counts.
func TestAnalyzeAsOutcomesAccumulate(t *testing.T) {
	u, _ := newSchema(t)
	db := openURL(t, u, postgres.WithAnalyzeAt(4))
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	for i := range 4 {
		if err := db.SaveDecision(ctx, decision(tenant, fmt.Sprintf("req_%d", i), fmt.Sprintf("user_%d", i), testNow),
			&amp.ProfileRecord{CreatedAt: testNow, UpdatedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	waitAnalyzed(t, db, 1)
	for i := range 3 {
		if _, err := db.RecordOutcome(ctx, tenant, fmt.Sprintf("req_%d", i), learn); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.Analyzed(); n != 1 {
		t.Fatalf("analysed %d times after 3 outcomes, want still 1", n)
	}
	if _, err := db.RecordOutcome(ctx, tenant, "req_3", learn); err != nil {
		t.Fatal(err)
	}
	waitAnalyzed(t, db, 2)
}

// waitAnalyzed waits until db has analysed its tables n times; the
// analyser runs in a goroutine of its own.
func waitAnalyzed(t *testing.T, db *postgres.DB, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for db.Analyzed() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the store analysed its tables %d times, want %d", db.Analyzed(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
