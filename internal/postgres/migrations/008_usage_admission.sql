-- Usage counts by admission, so that requests refused at the door (rate
-- limit, monthly quota, a revoked, quarantined or expired key) are metered as their own
-- series beside the admitted ones. '' is admitted: every row from before
-- is one. The column joins the primary key.

ALTER TABLE usage_counts
    ADD COLUMN admission text NOT NULL DEFAULT ''
        CHECK (admission IN ('', 'rate_limited', 'quota_exceeded', 'auth_failed'));
ALTER TABLE usage_counts DROP CONSTRAINT usage_counts_pkey;
ALTER TABLE usage_counts
    ADD PRIMARY KEY (account_id, granularity, bucket_start, key_id, route, status_class, country, admission);
