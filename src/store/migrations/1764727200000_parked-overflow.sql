-- Up Migration

-- Parked records beyond the few a connection workflow keeps in its own state (docs/architecture.md,
-- "Bounded workflow state"): workflow state is carried whole across continue-as-new, and Temporal
-- refuses a payload over its blob limit, so a target refusing every write must not grow it. The
-- connection's workflow is the only writer of its rows (activities, idempotent by `flush_seq`);
-- the CLI reads them beside the workflow's `parkedRecords` query.
CREATE TABLE parked_records (
  connection_id text NOT NULL,
  key text NOT NULL,
  object_type text NOT NULL,
  source_external_id text NOT NULL,
  target_connection_id text NOT NULL,
  reason text NOT NULL,
  operation text,
  error jsonb NOT NULL,
  parked_at timestamptz NOT NULL,
  attempts integer NOT NULL,
  -- The workflow's flush that last wrote the row: a flush retried after it committed changes nothing.
  flush_seq bigint NOT NULL,
  PRIMARY KEY (connection_id, key)
);

CREATE FUNCTION forget_connection_parked_records() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM parked_records WHERE connection_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER connections_forget_parked_records AFTER DELETE ON connections FOR EACH ROW EXECUTE FUNCTION forget_connection_parked_records();

-- Down Migration
DROP TRIGGER connections_forget_parked_records ON connections;
DROP FUNCTION forget_connection_parked_records();
DROP TABLE parked_records;
