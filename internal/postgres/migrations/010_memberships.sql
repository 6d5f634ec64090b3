-- 010_memberships: the link between the two keys of a roll.

-- A rolled key names its replacement (rolled_to) and the replacement the
-- key it replaced (rolled_from); '' when there is none. Set in the roll's
-- transaction.
ALTER TABLE api_keys ADD COLUMN rolled_from text NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN rolled_to text NOT NULL DEFAULT '';

-- Audit events are pruned by age (--audit-retention), for every account
-- at once.
CREATE INDEX audit_events_at ON audit_events (at);
