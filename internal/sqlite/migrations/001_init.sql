-- 001_init: accounts, API keys, the learning store and settings.
--
-- Conventions for every migration of this directory:
--   * Times are INTEGER microseconds since the Unix epoch, UTC (the precision
--     of PostgreSQL's timestamptz; a zero Go time is stored as its own, very
--     negative, value so that it round-trips).
--   * Booleans are INTEGER 0/1.
--   * Every row of learning data carries (account_id, mode), and every query
--     filters by both: a tenant's rows are never read on behalf of another.
--   * Tables are STRICT, so a wrongly typed bind fails instead of being
--     silently coerced.

CREATE TABLE accounts (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    plan            TEXT    NOT NULL,
    custom_rate     INTEGER NOT NULL DEFAULT 0,
    holdout_percent INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX accounts_created ON accounts (created_at, id);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id),
    mode         TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    last4        TEXT    NOT NULL,
    scopes       TEXT    NOT NULL, -- comma-separated, in the key's order
    rate_limit   INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

-- Every authenticated request looks its key up by hash.
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at, id);

CREATE TABLE profiles (
    account_id           TEXT    NOT NULL,
    mode                 TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    user_id              TEXT    NOT NULL,
    model                BLOB,
    -- Manual preferences: present when manual_set_at is not NULL.
    manual_framing       TEXT,
    manual_style         TEXT,
    manual_handling      TEXT,
    manual_encouragement TEXT,
    manual_set_at        INTEGER,
    metadata             TEXT,
    outcome_count        INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (account_id, mode, user_id)
) STRICT;

CREATE TABLE populations (
    account_id TEXT    NOT NULL,
    mode       TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    model      BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, mode)
) STRICT;

CREATE TABLE decisions (
    request_id      TEXT    NOT NULL PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    mode            TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    user_id         TEXT    NOT NULL,
    task_type       TEXT    NOT NULL,
    task_complexity TEXT    NOT NULL,
    framing         TEXT    NOT NULL,
    style           TEXT    NOT NULL,
    handling        TEXT    NOT NULL,
    encouragement   TEXT    NOT NULL,
    propensity      REAL    NOT NULL,
    explored        INTEGER NOT NULL,
    holdout         INTEGER NOT NULL,
    confidence      REAL    NOT NULL,
    interactions    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

-- Decisions(since) of a tenant, in their order, and a user's decisions for
-- DeleteProfile.
CREATE INDEX decisions_tenant_created ON decisions (account_id, mode, created_at, request_id);
CREATE INDEX decisions_tenant_user ON decisions (account_id, mode, user_id);

CREATE TABLE outcomes (
    request_id    TEXT    NOT NULL PRIMARY KEY REFERENCES decisions (request_id),
    account_id    TEXT    NOT NULL,
    mode          TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    user_id       TEXT    NOT NULL,
    started       INTEGER NOT NULL,
    completed     INTEGER,
    time_to_start REAL,
    flow_state    INTEGER,
    satisfaction  REAL,
    metadata      TEXT,
    reward        REAL    NOT NULL,
    reported_at   INTEGER NOT NULL
) STRICT;

-- A user's outcomes, newest first, and their statistics.
CREATE INDEX outcomes_tenant_user ON outcomes (account_id, mode, user_id, reported_at, request_id);

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
