// Package postgres implements amp.Store on PostgreSQL through pgx v5 and
// its connection pool, for deployments that run several AMP instances
// against one database (AMP_DATABASE_URL=postgres://…).
//
// Every learning row (profiles, populations, decisions, outcomes) is keyed
// by account and mode, and every query on them filters on both, so one
// tenant can neither read nor detect another's rows.
//
// Concurrency: RecordOutcome reads the decision and the user's profile
// with its version without a lock, runs the learner, and stores the result
// only if the profile's version is still the one read (else it learns
// again on the new profile; a contended profile is then locked with
// SELECT … FOR UPDATE, so that every outcome makes progress). So two
// instances recording outcomes for one user never lose an update, and no
// lock is held while the learner runs. It reads the tenant's population
// without a lock and never writes it: what an outcome teaches the
// population is queued in population_deltas, and FoldPopulation, run by
// every instance's background job, folds a tenant's queue into its
// population under the population row's lock taken with SKIP LOCKED, so
// folds of several instances skip each other instead of waiting, and no
// request ever waits for a tenant-wide row. Rows are locked profile first,
// then decision, by outcomes, DeleteProfile and ResetTestData alike, so
// that no two transactions wait on each other in a cycle. Rows that may
// not exist yet are inserted empty (ON CONFLICT DO NOTHING) before being
// locked, because FOR UPDATE cannot lock a row that is not there.
//
// Group commit: SaveDecision and RecordOutcome queue their writes for a
// goroutine of the DB each, which writes everything queued as one
// transaction in one round trip and answers each caller once it has
// committed (groupcommit.go, outcomes.go). Statements are prepared once
// per connection by pgx's statement cache.
//
// Durability: connections run with synchronous_commit=on unless the URL says
// otherwise, so a method that returned nil has its writes on disk.
//
// Schema: the SQL files in migrations/ are embedded and applied in order by
// Migrate (and by Open, unless WithoutMigrate is given), inside one
// transaction that holds an advisory lock, so instances that start together
// do not race; applied versions are recorded in schema_migrations.
//
// Beside amp.Store, DB implements amp.UsageStore (metered usage and the
// monthly quota counts, shared by every instance, so a quota holds across
// them) and amp.DashboardStore (the dashboard's users and sessions). Usage
// and quota batches are merged and sorted by key before they are written,
// so that concurrent flushes lock rows in one order.
//
// Statistics: the store runs ANALYZE on the learning tables after its
// 1,000th, 10,000th and 100,000th logged decision since Open (analyze.go),
// because plans made from the statistics of a nearly empty table scan a
// tenant's rows for what should be a primary-key lookup, until autovacuum
// catches up a minute or so later.
//
// Key changes reach other instances through the database alone: the
// service caches a key for at most 500 ms (docs/deploy.md), so a revoked
// key is refused everywhere within that time, without a notification.
package postgres
