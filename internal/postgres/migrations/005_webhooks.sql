-- Key quarantine, webhook endpoints and the outbox of events and deliveries
-- (amp.WebhookStore).
--
-- An endpoint's signing secret is stored as is: an HMAC needs the secret
-- itself. An event and its deliveries are written in one transaction, so
-- that an event committed is delivered at least once. A delivery is claimed
-- by moving next_attempt_at past the claim's lease (FOR UPDATE SKIP LOCKED
-- keeps instances from claiming the same rows); a worker that dies leaves
-- it to be claimed again when the lease ends.

ALTER TABLE api_keys ADD COLUMN quarantined_at timestamptz;
ALTER TABLE api_keys ADD COLUMN quarantine_reason text NOT NULL DEFAULT '';

CREATE TABLE webhook_endpoints (
    id                  text        PRIMARY KEY,
    account_id          text        NOT NULL REFERENCES accounts (id),
    mode                text        NOT NULL CHECK (mode IN ('test', 'live')),
    url                 text        NOT NULL,
    description         text        NOT NULL,
    event_types         text[]      NOT NULL,
    secret              text        NOT NULL,
    previous_secret     text        NOT NULL,
    previous_expires_at timestamptz,
    disabled            boolean     NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at, id);

CREATE TABLE webhook_events (
    id         text        PRIMARY KEY,
    account_id text        NOT NULL REFERENCES accounts (id),
    mode       text        NOT NULL CHECK (mode IN ('test', 'live')),
    type       text        NOT NULL,
    dedupe_key text,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX webhook_events_dedupe ON webhook_events (account_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id              text        PRIMARY KEY,
    event_id        text        NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id     text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    account_id      text        NOT NULL,
    mode            text        NOT NULL,
    event_type      text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_status     integer     NOT NULL,
    last_latency_us bigint      NOT NULL,
    last_error      text        NOT NULL,
    created_at      timestamptz NOT NULL
);
-- The worker's scan of due deliveries reads only pending rows.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, created_at, id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    delivery_id text        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL,
    at          timestamptz NOT NULL,
    status      integer     NOT NULL,
    latency_us  bigint      NOT NULL,
    error       text        NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
