-- The web dashboard's users and sessions (amp.DashboardStore).
--
-- A user owns one account (account_id is unique), and an email names one
-- user. Sessions are stored by the SHA-256 of their token only; deleting a
-- user ends its sessions.

CREATE TABLE dashboard_users (
    id                  text        PRIMARY KEY,
    email               text        NOT NULL UNIQUE,
    password_hash       text        NOT NULL,
    account_id          text        NOT NULL UNIQUE REFERENCES accounts (id),
    created_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL
);

CREATE TABLE dashboard_sessions (
    token_hash   text        PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
-- Signing a user out everywhere, and the periodic sweep of expired and
-- idle sessions.
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_last_seen ON dashboard_sessions (last_seen_at);
