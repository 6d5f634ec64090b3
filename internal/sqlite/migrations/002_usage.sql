-- 002_usage: metered usage and monthly quota counts (amp.UsageStore).
--
-- usage_counts holds the requests of one key in one bucket (a UTC minute,
-- hour or day starting at bucket_start) with one route, status class and
-- client country. The meter adds every request to one bucket of each
-- granularity, and a retention job deletes each granularity's old rows, so
-- the table stays bounded: by default minutes for 48 hours, hours for
-- 90 days, days for 2 years. Rows carry no foreign keys: they are written in
-- batches by the meter, and a batch must not fail because of one row.
--
-- quota_usage holds an account's live 2xx requests per UTC month (month is
-- the month's first instant).

CREATE TABLE usage_counts (
    account_id   TEXT    NOT NULL,
    granularity  TEXT    NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
    bucket_start INTEGER NOT NULL,
    key_id       TEXT    NOT NULL,
    mode         TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    route        TEXT    NOT NULL,
    status_class INTEGER NOT NULL,
    country      TEXT    NOT NULL,
    requests     INTEGER NOT NULL,
    PRIMARY KEY (account_id, granularity, bucket_start, key_id, route, status_class, country)
) STRICT, WITHOUT ROWID;

-- A key's usage over time (the primary key serves an account's).
CREATE INDEX usage_counts_key ON usage_counts (key_id, granularity, bucket_start);
-- Retention: a granularity's rows older than a cut-off.
CREATE INDEX usage_counts_age ON usage_counts (granularity, bucket_start);

CREATE TABLE quota_usage (
    account_id TEXT    NOT NULL,
    month      INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    PRIMARY KEY (account_id, month)
) STRICT, WITHOUT ROWID;
