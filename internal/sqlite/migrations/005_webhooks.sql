-- 005_webhooks: key quarantine, webhook endpoints and the outbox of events
-- and deliveries (amp.WebhookStore).
--
-- An endpoint's signing secret is stored as is: an HMAC needs the secret
-- itself. An event and its deliveries are written in one transaction, so
-- that an event committed is delivered at least once. A delivery is claimed
-- by moving next_attempt_at past the claim's lease; a worker that dies
-- leaves it to be claimed again when the lease ends.

ALTER TABLE api_keys ADD COLUMN quarantined_at INTEGER;
ALTER TABLE api_keys ADD COLUMN quarantine_reason TEXT NOT NULL DEFAULT '';

CREATE TABLE webhook_endpoints (
    id                   TEXT    NOT NULL PRIMARY KEY,
    account_id           TEXT    NOT NULL REFERENCES accounts (id),
    mode                 TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    url                  TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    event_types          TEXT    NOT NULL, -- comma-separated, sorted
    secret               TEXT    NOT NULL,
    previous_secret      TEXT    NOT NULL,
    previous_expires_at  INTEGER,
    disabled             INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at, id);

CREATE TABLE webhook_events (
    id          TEXT    NOT NULL PRIMARY KEY,
    account_id  TEXT    NOT NULL REFERENCES accounts (id),
    mode        TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    type        TEXT    NOT NULL,
    dedupe_key  TEXT,
    payload     BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX webhook_events_dedupe ON webhook_events (account_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    event_id        TEXT    NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    account_id      TEXT    NOT NULL,
    mode            TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL,
    last_latency_us INTEGER NOT NULL,
    last_error      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
-- The worker's scan of due deliveries reads only pending rows.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, created_at, id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) STRICT;
