-- The initial AMP schema. Learning tables are keyed by (account_id, mode)
-- first, so that every tenant's rows form one contiguous index range and no
-- query needs to touch another tenant's rows.

CREATE TABLE accounts (
    id              text        PRIMARY KEY,
    name            text        NOT NULL,
    plan            text        NOT NULL,
    custom_rate     integer     NOT NULL DEFAULT 0,
    holdout_percent integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL
);
CREATE INDEX accounts_created ON accounts (created_at, id);

CREATE TABLE api_keys (
    id           text        PRIMARY KEY,
    account_id   text        NOT NULL REFERENCES accounts (id),
    mode         text        NOT NULL CHECK (mode IN ('test', 'live')),
    name         text        NOT NULL,
    hash         text        NOT NULL UNIQUE,
    last4        text        NOT NULL,
    scopes       text[]      NOT NULL,
    rate_limit   integer     NOT NULL DEFAULT 0,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at, id);

CREATE TABLE profiles (
    account_id    text        NOT NULL,
    mode          text        NOT NULL CHECK (mode IN ('test', 'live')),
    user_id       text        NOT NULL,
    model         bytea,
    manual        jsonb,
    -- json, not jsonb: the caller's bytes come back exactly as stored.
    metadata      json,
    outcome_count integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, mode, user_id)
);

CREATE TABLE populations (
    account_id text        NOT NULL,
    mode       text        NOT NULL CHECK (mode IN ('test', 'live')),
    model      bytea,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, mode)
);

CREATE TABLE decisions (
    account_id      text             NOT NULL,
    mode            text             NOT NULL CHECK (mode IN ('test', 'live')),
    request_id      text             NOT NULL,
    user_id         text             NOT NULL,
    task_type       text             NOT NULL,
    task_complexity text             NOT NULL,
    framing         text             NOT NULL,
    style           text             NOT NULL,
    handling        text             NOT NULL,
    encouragement   text             NOT NULL,
    propensity      double precision NOT NULL,
    explored        boolean          NOT NULL,
    holdout         boolean          NOT NULL,
    confidence      double precision NOT NULL,
    interactions    integer          NOT NULL,
    created_at      timestamptz      NOT NULL,
    PRIMARY KEY (account_id, mode, request_id)
);
CREATE INDEX decisions_user ON decisions (account_id, mode, user_id);
CREATE INDEX decisions_created ON decisions (account_id, mode, created_at, request_id);

CREATE TABLE outcomes (
    account_id    text             NOT NULL,
    mode          text             NOT NULL,
    request_id    text             NOT NULL,
    user_id       text             NOT NULL,
    started       boolean          NOT NULL,
    completed     boolean,
    time_to_start double precision,
    flow_state    boolean,
    satisfaction  double precision,
    metadata      json,
    reward        double precision NOT NULL,
    reported_at   timestamptz      NOT NULL,
    PRIMARY KEY (account_id, mode, request_id),
    -- An outcome lives and dies with its decision: deleting decisions (a
    -- profile's erasure, the test-mode reset) takes their outcomes along,
    -- even one committed while the delete waited for its lock.
    FOREIGN KEY (account_id, mode, request_id)
        REFERENCES decisions (account_id, mode, request_id) ON DELETE CASCADE
);
CREATE INDEX outcomes_user ON outcomes (account_id, mode, user_id, reported_at DESC, request_id DESC);

CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
