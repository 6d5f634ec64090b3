-- Accounts with members (a role per user, one owner per account),
-- one-time links (invitations, first-run setup, password resets) kept by
-- the SHA-256 of their secret, and the audit log.

ALTER TABLE dashboard_users ADD COLUMN role text NOT NULL DEFAULT 'owner';
ALTER TABLE dashboard_users DROP CONSTRAINT dashboard_users_account_id_key;
CREATE INDEX dashboard_users_account ON dashboard_users (account_id, created_at);
CREATE UNIQUE INDEX dashboard_users_owner ON dashboard_users (account_id) WHERE role = 'owner';

CREATE TABLE dashboard_tokens (
    token_hash text        PRIMARY KEY,
    purpose    text        NOT NULL,
    account_id text        NOT NULL REFERENCES accounts (id),
    role       text        NOT NULL,
    email      text        NOT NULL,
    user_id    text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX dashboard_tokens_account ON dashboard_tokens (account_id, purpose, created_at);

CREATE TABLE audit_events (
    id          bigserial   PRIMARY KEY,
    account_id  text        NOT NULL,
    at          timestamptz NOT NULL,
    actor_id    text        NOT NULL,
    actor_email text        NOT NULL,
    action      text        NOT NULL,
    target      text        NOT NULL,
    detail      text        NOT NULL
);

CREATE INDEX audit_events_account ON audit_events (account_id, id);

-- Two-factor sign-in: a user's TOTP secret ('' when off) and the last time
-- step a code was accepted for (a code is refused at or before it: no
-- replay); single-use recovery codes by SHA-256; an account's owner can
-- require two-factor sign-in of every member.
ALTER TABLE dashboard_users ADD COLUMN totp_secret text NOT NULL DEFAULT '';
ALTER TABLE dashboard_users ADD COLUMN totp_step bigint NOT NULL DEFAULT 0;

CREATE TABLE dashboard_recovery_codes (
    user_id   text        NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    code_hash text        NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE account_security (
    account_id         text    PRIMARY KEY REFERENCES accounts (id),
    require_two_factor boolean NOT NULL
);

-- The request log: the last admitted requests of each tenant, pruned by
-- age and count (amp.RequestLogStore).
CREATE TABLE request_log (
    id         bigserial   PRIMARY KEY,
    account_id text        NOT NULL,
    mode       text        NOT NULL,
    at         timestamptz NOT NULL,
    key_id     text        NOT NULL,
    route      text        NOT NULL,
    status     integer     NOT NULL,
    code       text        NOT NULL,
    latency_us bigint      NOT NULL,
    country    text        NOT NULL,
    request_id text        NOT NULL
);

CREATE INDEX request_log_tenant ON request_log (account_id, mode, at);
CREATE INDEX request_log_request ON request_log (account_id, mode, request_id);
CREATE INDEX request_log_at ON request_log (at);
