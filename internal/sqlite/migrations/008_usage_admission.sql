-- 008_usage_admission: usage counts by admission, so that requests refused
-- at the door (rate limit, monthly quota, a revoked, quarantined or expired key) are
-- metered as their own series beside the admitted ones. '' is admitted:
-- every row from before is one.
--
-- The column joins the primary key, which a WITHOUT ROWID table cannot
-- change in place: the table is rebuilt.

CREATE TABLE usage_counts_new (
    account_id   TEXT    NOT NULL,
    granularity  TEXT    NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
    bucket_start INTEGER NOT NULL,
    key_id       TEXT    NOT NULL,
    mode         TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    route        TEXT    NOT NULL,
    status_class INTEGER NOT NULL,
    country      TEXT    NOT NULL,
    admission    TEXT    NOT NULL DEFAULT '' CHECK (admission IN ('', 'rate_limited', 'quota_exceeded', 'auth_failed')),
    requests     INTEGER NOT NULL,
    PRIMARY KEY (account_id, granularity, bucket_start, key_id, route, status_class, country, admission)
) STRICT, WITHOUT ROWID;

INSERT INTO usage_counts_new
    (account_id, granularity, bucket_start, key_id, mode, route, status_class, country, admission, requests)
SELECT account_id, granularity, bucket_start, key_id, mode, route, status_class, country, '', requests
FROM usage_counts;

DROP TABLE usage_counts;
ALTER TABLE usage_counts_new RENAME TO usage_counts;

CREATE INDEX usage_counts_key ON usage_counts (key_id, granularity, bucket_start);
CREATE INDEX usage_counts_age ON usage_counts (granularity, bucket_start);
