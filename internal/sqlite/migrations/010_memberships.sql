-- 010_memberships: one login in several accounts; the link between the
-- two keys of a roll; pruning the audit log by age.

-- A user is a member of one or more accounts, with a role in each (one
-- owner per account). Every user's one account and role of 009 become
-- their first membership. dashboard_users.account_id stays: it is now the
-- account a new session starts in (the last one joined or switched to).
CREATE TABLE dashboard_memberships (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    user_id    TEXT    NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
) STRICT;

CREATE INDEX dashboard_memberships_user ON dashboard_memberships (user_id, created_at);
CREATE UNIQUE INDEX dashboard_memberships_owner ON dashboard_memberships (account_id) WHERE role = 'owner';

INSERT INTO dashboard_memberships (account_id, user_id, role, created_at)
    SELECT account_id, id, role, created_at FROM dashboard_users;

DROP INDEX dashboard_users_owner;
DROP INDEX dashboard_users_account;
ALTER TABLE dashboard_users DROP COLUMN role;

-- A session acts for one of its user's accounts; the sessions of 009 act
-- for the user's one account.
ALTER TABLE dashboard_sessions ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
UPDATE dashboard_sessions SET account_id = (SELECT u.account_id FROM dashboard_users u WHERE u.id = dashboard_sessions.user_id);

-- A rolled key names its replacement (rolled_to) and the replacement the
-- key it replaced (rolled_from); '' when there is none. Set in the roll's
-- transaction.
ALTER TABLE api_keys ADD COLUMN rolled_from TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN rolled_to TEXT NOT NULL DEFAULT '';

-- Audit events are pruned by age (--audit-retention), for every account
-- at once.
CREATE INDEX audit_events_at ON audit_events (at);
