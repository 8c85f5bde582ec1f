-- Up Migration

-- Request counters shared by every worker, one row per (connection, window, slot), in the shape
-- rate-limiter-flexible's PostgreSQL store expects (src/connectors/rate-budget.ts).
CREATE TABLE rate_budget_counters (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);
CREATE INDEX rate_budget_counters_expire_idx ON rate_budget_counters (expire);

-- Down Migration
DROP TABLE rate_budget_counters;
