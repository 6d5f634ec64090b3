-- 009_team: accounts with members (a role per user, one owner per
-- account), one-time links (invitations, first-run setup, password
-- resets) kept by the SHA-256 of their secret, and the audit log.

ALTER TABLE dashboard_users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner';
DROP INDEX dashboard_users_account;
CREATE INDEX dashboard_users_account ON dashboard_users (account_id, created_at);
CREATE UNIQUE INDEX dashboard_users_owner ON dashboard_users (account_id) WHERE role = 'owner';

CREATE TABLE dashboard_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL,
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    role       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX dashboard_tokens_account ON dashboard_tokens (account_id, purpose, created_at);

CREATE TABLE audit_events (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_email TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    detail      TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_events_account ON audit_events (account_id, id);

-- Two-factor sign-in: a user's TOTP secret ('' when off) and the last time
-- step a code was accepted for (a code is refused at or before it: no
-- replay); single-use recovery codes by SHA-256; an account's owner can
-- require two-factor sign-in of every member.
ALTER TABLE dashboard_users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE dashboard_users ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE dashboard_recovery_codes (
    user_id   TEXT    NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE account_security (
    account_id         TEXT    NOT NULL PRIMARY KEY REFERENCES accounts (id),
    require_two_factor INTEGER NOT NULL
) STRICT;

-- The request log: the last admitted requests of each tenant, pruned by
-- age and count (amp.RequestLogStore).
CREATE TABLE request_log (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id TEXT    NOT NULL,
    mode       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    key_id     TEXT    NOT NULL,
    route      TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    code       TEXT    NOT NULL,
    latency_us INTEGER NOT NULL,
    country    TEXT    NOT NULL,
    request_id TEXT    NOT NULL
) STRICT;

CREATE INDEX request_log_tenant ON request_log (account_id, mode, at);
CREATE INDEX request_log_request ON request_log (account_id, mode, request_id);
CREATE INDEX request_log_at ON request_log (at);
