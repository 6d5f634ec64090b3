-- 004_population_deltas: the tenant's population is folded off the hot path.
--
-- An outcome's transaction stores the user's new profile, the outcome and
-- what the outcome teaches the tenant's population (a delta of the
-- learner's sufficient statistics), queued in population_deltas; it never
-- writes the population row. A background job folds a tenant's pending
-- deltas into its population at most every second and deletes exactly
-- those it folded, in one transaction, so a crash loses none and folds
-- none twice.
--
-- The outcome keeps its delta too (outcomes.population_delta): the outcome
-- log from which a population can be rebuilt and checked.
--
-- profiles.version and populations.version count the writes of a row. An
-- outcome is learned outside the writer, against the profile as read, and
-- its result is stored only if the version is still the one read (else it
-- is learned again); the fold checks the population's the same way.

ALTER TABLE outcomes ADD COLUMN population_delta BLOB;
ALTER TABLE profiles ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE populations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- AUTOINCREMENT: seq never reuses a value, so the deltas of a tenant with
-- seq up to the last one folded are exactly those folded (the writer
-- commits in seq order).
CREATE TABLE population_deltas (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id TEXT    NOT NULL,
    mode       TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    request_id TEXT    NOT NULL,
    delta      BLOB    NOT NULL
) STRICT;

CREATE INDEX population_deltas_tenant ON population_deltas (account_id, mode, seq);
