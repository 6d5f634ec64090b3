-- 011_quarantine_url: where a secret scanner found a quarantined key, for
-- the dashboard's quarantine banner ('' when its owner quarantined it).

ALTER TABLE api_keys ADD COLUMN quarantine_url text NOT NULL DEFAULT '';
