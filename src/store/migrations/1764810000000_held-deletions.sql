-- Up Migration

-- Deletions the mass-delete guard holds beyond the few ids a connection workflow keeps in its own
-- state (docs/architecture.md, "Bounded workflow state"): a mass delete of tens of thousands of
-- records must not ride in continue-as-new's input. The connection's workflow is the only writer
-- of its rows (activities, idempotent: an id held twice is one row); the CLI reads them.
CREATE TABLE held_deletions (
  connection_id text NOT NULL,
  -- The hold's id as the workflow names it (`<objectType>:<n>`): approve and reject name it.
  hold_id text NOT NULL,
  object_type text NOT NULL,
  external_id text NOT NULL,
  PRIMARY KEY (connection_id, hold_id, external_id)
);

CREATE FUNCTION forget_connection_held_deletions() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM held_deletions WHERE connection_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER connections_forget_held_deletions AFTER DELETE ON connections FOR EACH ROW EXECUTE FUNCTION forget_connection_held_deletions();

-- Down Migration
DROP TRIGGER connections_forget_held_deletions ON connections;
DROP FUNCTION forget_connection_held_deletions();
DROP TABLE held_deletions;
