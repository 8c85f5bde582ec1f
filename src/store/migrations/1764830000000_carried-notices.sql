-- Up Migration

-- Change notices a connection workflow could not carry across continue-as-new (beyond
-- PENDING_CARRY_LIMIT, docs/architecture.md, "Bounded workflow state"): some name changes a poll
-- cannot find again (a HubSpot association moves no record's stamp), so they wait here until the
-- next run takes them back into its queue. One row per record, as in the workflow's queue; the
-- connection's workflow is the only writer (activities, idempotent). No secrets: ids, stamps and
-- the vendor's event id only.
CREATE TABLE carried_notices (
  connection_id text NOT NULL,
  object_type text NOT NULL,
  external_id text NOT NULL,
  -- The notice's vendor stamp (ISO 8601, compared as the workflow compares it: byte order).
  modified_at text COLLATE "C",
  event_id text,
  deleted boolean,
  -- The order notices were first stored in: the next run takes the oldest back first.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (connection_id, object_type, external_id)
);

CREATE INDEX carried_notices_by_seq ON carried_notices (connection_id, seq);

CREATE FUNCTION forget_connection_carried_notices() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM carried_notices WHERE connection_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER connections_forget_carried_notices AFTER DELETE ON connections FOR EACH ROW EXECUTE FUNCTION forget_connection_carried_notices();

-- Down Migration
DROP TRIGGER connections_forget_carried_notices ON connections;
DROP FUNCTION forget_connection_carried_notices();
DROP TABLE carried_notices;
