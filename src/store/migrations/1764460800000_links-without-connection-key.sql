-- Up Migration

-- The last foreign key on the write path: every link inserted (two per record in a backfill) looked
-- its connection up and took a KEY SHARE lock on the connection's row, a row every concurrent
-- batch of that connection locks at once (shared by several transactions, such a lock becomes a
-- multixact, written to the WAL). What the key guarded is kept on the rare delete, as for the
-- keys 1764374400000_lean-record-writes.sql dropped: a connection deleted takes its links with it
-- (and they their snapshots, through record_links_forget_snapshot).
ALTER TABLE record_links DROP CONSTRAINT record_links_connection_id_fkey;

CREATE FUNCTION forget_connection_links() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM record_links WHERE connection_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER connections_forget_links AFTER DELETE ON connections FOR EACH ROW EXECUTE FUNCTION forget_connection_links();

-- Down Migration
DROP TRIGGER connections_forget_links ON connections;
DROP FUNCTION forget_connection_links();
DELETE FROM record_links l WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.id = l.connection_id);
ALTER TABLE record_links ADD FOREIGN KEY (connection_id) REFERENCES connections (id) ON DELETE CASCADE;
