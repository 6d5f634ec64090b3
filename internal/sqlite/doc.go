// Package sqlite implements amp.Store on an embedded SQLite database through
// modernc.org/sqlite, a pure-Go build of SQLite (no cgo).
//
// # Connections
//
// A DB holds one writer connection and a pool of read connections to the
// same database file in WAL mode, so readers never wait for the writer and
// the writer never waits for readers. The database must be a file: every
// connection to ":memory:" would open a separate, empty database.
//
// # Group commit
//
// Every write goes through one goroutine that owns the writer connection.
// Callers queue a write and wait. The goroutine takes everything queued at
// that moment (it never sleeps to gather more), runs it in one transaction
// with each write inside its own SAVEPOINT, and commits once; only then is
// each caller answered. A write that fails rolls back to its savepoint and
// fails alone; its batch-mates commit. Under load many writes share one
// commit, which is what lets the service acknowledge an outcome only once it
// is durable and still serve thousands per second; when idle, a write
// commits immediately.
//
// The store's own writes are built so that they can only fail before they
// change anything, and skip the savepoint (see writeNoSavepoint): SQLite
// undoes a failed statement by itself. If one fails after a change all the
// same (an I/O error), the transaction is rolled back, its earlier writes
// fail with it and its later writes run again in a new transaction.
//
// The writer goroutine only writes. RecordOutcome reads the decision and
// profile on the read pool and runs the learner on the caller's goroutine;
// the writer stores the result only if the profile's version is unchanged
// (else the caller learns again, and after a few conflicts the learner
// runs on the writer, where nothing can overtake it). FoldPopulation
// merges a tenant's queued population deltas the same way: merged off the
// writer, stored if the population's version is unchanged.
//
// A second goroutine checkpoints the WAL into the database file on a
// connection of its own every so many writes, so that the checkpoint's
// fsyncs do not stall the writer; no checkpoint waits for the writer. When
// the WAL has grown past a bound, the writer copies what is left itself
// the next time its queue is empty, so that its next write starts the WAL
// over (checkpoint.go). Close drains the queue, then stops both.
//
// # Learning cache
//
// With WithCache, profile and population rows are also kept in memory
// (cache.go): every /v1/context reads both, and in WAL mode each commit
// makes the read connections drop their page caches, so without it nearly
// every such read went back to the file. The writer goroutine updates the
// cache only after the commit that changed the rows, before it answers the
// writes, and readers' fills are refused if the writer changed that part
// of the cache meanwhile. Recent decisions without an outcome are cached
// too, and each profile with its version, so that RecordOutcome of a recent
// decision reads nothing before learning. It is sound only while no other
// process writes learning rows, so WithCache takes an exclusive lock on the
// database's path+".lock": one serving process per database; admin
// commands open it without the cache and run beside it.
//
// # Durability
//
// By default the database runs with synchronous=NORMAL: a committed write
// survives a crash or kill of the process, which is what the service
// promises, but the last commits before a power loss or kernel crash may be
// lost. WithFullSync selects synchronous=FULL, which also survives power
// loss at the cost of an fsync per commit (shared by the whole batch).
//
// # Schema
//
// Migrations are the files migrations/NNN_name.sql, embedded in the binary
// and applied in order, in one transaction, when the database is opened;
// each applied version is recorded in schema_migrations. Adding a migration
// is adding a file. A database with a version this binary does not know is
// refused. Times are stored as INTEGER microseconds since the Unix epoch in
// UTC, and every row of learning data carries the account and mode it
// belongs to; every query filters by both.
package sqlite
