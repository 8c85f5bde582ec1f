-- Up Migration

-- Every synced record writes a link and a snapshot per CRM, a canonical record and a match key: a
-- backfill writes hundreds of thousands of them. A foreign key costs each inserted row a lookup
-- and a row lock on the row it references (the connection's, the tenant's, the link's), written
-- to the WAL and shared by every concurrent batch. What those keys guarded is kept where it
-- matters, on the rare delete: a trigger forgets what belonged to the deleted row.

-- A link's tenant is its connection's: deleting a tenant deletes its connections, which delete
-- their links (record_links.connection_id keeps its cascade). The key and its index were redundant.
ALTER TABLE record_links DROP CONSTRAINT record_links_tenant_id_fkey;
DROP INDEX record_links_tenant_idx;

-- A snapshot is written in the same transaction as its link (RecordLinksRepository.saveSyncedStates,
-- which writes one only where the link exists); a link deleted takes its snapshot with it.
ALTER TABLE record_snapshots DROP CONSTRAINT record_snapshots_canonical_id_connection_id_fkey;

CREATE FUNCTION forget_link_snapshot() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM record_snapshots WHERE canonical_id = OLD.canonical_id AND connection_id = OLD.connection_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER record_links_forget_snapshot AFTER DELETE ON record_links FOR EACH ROW EXECUTE FUNCTION forget_link_snapshot();

-- Canonical records and match keys of a deleted tenant go with it.
ALTER TABLE canonical_records DROP CONSTRAINT canonical_records_tenant_id_fkey;
ALTER TABLE canonical_match_keys DROP CONSTRAINT canonical_match_keys_tenant_id_fkey;

CREATE FUNCTION forget_tenant_records() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM canonical_match_keys WHERE tenant_id = OLD.id;
  DELETE FROM canonical_records WHERE tenant_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER tenants_forget_records AFTER DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION forget_tenant_records();

-- Down Migration
DROP TRIGGER tenants_forget_records ON tenants;
DROP FUNCTION forget_tenant_records();
DELETE FROM canonical_match_keys k WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = k.tenant_id);
DELETE FROM canonical_records c WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = c.tenant_id);
ALTER TABLE canonical_match_keys ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE canonical_records ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
DROP TRIGGER record_links_forget_snapshot ON record_links;
DROP FUNCTION forget_link_snapshot();
DELETE FROM record_snapshots s WHERE NOT EXISTS (SELECT 1 FROM record_links l WHERE l.canonical_id = s.canonical_id AND l.connection_id = s.connection_id);
ALTER TABLE record_snapshots ADD FOREIGN KEY (canonical_id, connection_id) REFERENCES record_links (canonical_id, connection_id) ON DELETE CASCADE;
CREATE INDEX record_links_tenant_idx ON record_links (tenant_id, object_type);
ALTER TABLE record_links ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
