-- Up Migration

-- A link written without one of its related records because that record has no copy in the
-- target yet (parked there, or not synced yet): the holder waits here, by the record it waits
-- for, and is pushed to the target again when that record lands there. Written only when a link
-- cannot be written (rare), so it carries no foreign key on the write path; a connection deleted
-- takes its rows with it (trigger below).
CREATE TABLE pending_references (
  target_connection_id text NOT NULL,
  related_canonical_id uuid NOT NULL,
  holder_canonical_id uuid NOT NULL,
  slot text NOT NULL,
  tenant_id text NOT NULL,
  holder_object_type text NOT NULL,
  related_object_type text NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target_connection_id, related_canonical_id, holder_canonical_id, slot)
);
CREATE INDEX pending_references_by_holder ON pending_references (target_connection_id, holder_canonical_id);

-- Canonical records merged into another (first-sync matching) may still be named by other
-- records' links: they are followed to the survivor.
CREATE TABLE canonical_aliases (
  merged_id uuid PRIMARY KEY,
  survivor_id uuid NOT NULL
);

CREATE FUNCTION forget_connection_pending_references() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM pending_references WHERE target_connection_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER connections_forget_pending_references AFTER DELETE ON connections FOR EACH ROW EXECUTE FUNCTION forget_connection_pending_references();

-- Down Migration
DROP TRIGGER connections_forget_pending_references ON connections;
DROP FUNCTION forget_connection_pending_references();
DROP TABLE canonical_aliases;
DROP TABLE pending_references;
