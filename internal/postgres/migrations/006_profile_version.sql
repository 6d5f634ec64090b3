-- Outcomes are group-committed: RecordOutcome reads the decision and the
-- user's profile without a lock, runs the learner on the request's
-- goroutine, and queues the result for a writer that commits the outcomes
-- of many requests in one transaction. The result is stored only if the
-- profile is still the one read: profiles.version counts the writes of a
-- row, every UPDATE of a profile increments it, and the outcome's write
-- checks it (else the learner runs again on the new profile). So no lock
-- is held while the learner runs, and concurrent outcomes of one user
-- still never lose an update.
ALTER TABLE profiles ADD COLUMN version bigint NOT NULL DEFAULT 0;
