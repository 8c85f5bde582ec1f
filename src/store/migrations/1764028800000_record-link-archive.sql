-- Up Migration

-- Deletes with the `archive` policy keep the record in the other CRMs but stop syncing it: the
-- link stays (so the pair is never re-created by a later edit) and says since when it is archived.
ALTER TABLE record_links ADD COLUMN archived_at timestamptz;

-- Down Migration
ALTER TABLE record_links DROP COLUMN archived_at;
