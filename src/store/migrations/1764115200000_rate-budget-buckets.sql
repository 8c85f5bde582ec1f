-- Up Migration

-- The rate budget's rolling log (src/connectors/rate-budget.ts): requests counted per
-- (connection, window, bucket of ~1/200 of the window), shared by every worker. It replaces the
-- fixed-slot counters of rate-limiter-flexible, which could use only k/(k+1) of a vendor's limit.
DROP TABLE rate_budget_counters;

CREATE TABLE rate_budget_buckets (
  key text NOT NULL,
  window_name text NOT NULL,
  bucket_start_ms bigint NOT NULL,
  used integer NOT NULL,
  PRIMARY KEY (key, window_name, bucket_start_ms)
);

-- One round trip for the start of an acquire: serialise on the key (every worker's acquire for a
-- connection), then read its buckets and the clock. Separate statements inside a volatile
-- function each take a fresh snapshot, so the read sees whatever the previous holder committed;
-- the database clock is the one clock all workers share, however skewed their own.
CREATE FUNCTION rate_budget_lock_and_read(p_key text, p_windows text[])
RETURNS TABLE (now_ms bigint, window_name text, bucket_start_ms bigint, used integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('rate_budget:' || p_key));
  RETURN QUERY
    SELECT clock.now_ms, bucket.window_name, bucket.bucket_start_ms, bucket.used
    FROM (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS clock
    LEFT JOIN rate_budget_buckets AS bucket ON bucket.key = p_key AND bucket.window_name = ANY (p_windows);
END
$$;

-- Down Migration
DROP FUNCTION rate_budget_lock_and_read(text, text[]);
DROP TABLE rate_budget_buckets;
CREATE TABLE rate_budget_counters (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);
CREATE INDEX rate_budget_counters_expire_idx ON rate_budget_counters (expire);
