-- 003_dashboard: the web dashboard's users and sessions (amp.DashboardStore).
--
-- A user owns one account (account_id is unique), and an email names one
-- user. Sessions are stored by the SHA-256 of their token only; deleting a
-- user ends its sessions.

CREATE TABLE dashboard_users (
    id                  TEXT    NOT NULL PRIMARY KEY,
    email               TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    account_id          TEXT    NOT NULL REFERENCES accounts (id),
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX dashboard_users_email ON dashboard_users (email);
CREATE UNIQUE INDEX dashboard_users_account ON dashboard_users (account_id);

CREATE TABLE dashboard_sessions (
    token_hash   TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

-- Signing a user out everywhere, and the periodic sweep of expired sessions.
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_last_seen ON dashboard_sessions (last_seen_at);
