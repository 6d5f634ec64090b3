-- Metered usage and monthly quota counts (amp.UsageStore).
--
-- usage_counts holds the requests of one key in one bucket (a UTC minute,
-- hour or day starting at bucket_start) with one route, status class and
-- client country. The meter adds every request to one bucket of each
-- granularity and a retention job deletes each granularity's old rows, so
-- the table stays bounded. Rows carry no foreign keys: the meter writes them
-- in batches, and a batch must not fail because of one row.
--
-- quota_usage holds an account's live 2xx requests per UTC month (month is
-- the month's first instant). Every instance adds its counts here, so the
-- quota holds across instances.

CREATE TABLE usage_counts (
    account_id   text        NOT NULL,
    granularity  text        NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
    bucket_start timestamptz NOT NULL,
    key_id       text        NOT NULL,
    mode         text        NOT NULL CHECK (mode IN ('test', 'live')),
    route        text        NOT NULL,
    status_class integer     NOT NULL,
    country      text        NOT NULL,
    requests     bigint      NOT NULL,
    PRIMARY KEY (account_id, granularity, bucket_start, key_id, route, status_class, country)
);
-- A key's usage over time (the primary key serves an account's).
CREATE INDEX usage_counts_key ON usage_counts (key_id, granularity, bucket_start);
-- Retention: a granularity's rows older than a cut-off.
CREATE INDEX usage_counts_age ON usage_counts (granularity, bucket_start);

CREATE TABLE quota_usage (
    account_id text        NOT NULL,
    month      timestamptz NOT NULL,
    requests   bigint      NOT NULL,
    PRIMARY KEY (account_id, month)
);
