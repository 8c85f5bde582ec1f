-- Up Migration

-- The canonical record (docs/architecture.md, "Canonical record"): per canonical id, the value
-- every CRM should hold for each field and, per field, which connection's edit it is and when
-- that edit was made there. record_snapshots keeps, per connection, what that CRM held when last
-- read or written: the base its own changes are measured against.
CREATE TABLE canonical_records (
  canonical_id uuid PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_type text NOT NULL CHECK (object_type IN ('contact', 'company', 'deal', 'activity')),
  fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- {"edits": [[connection id, ISO modstamp or null, clock precision ms], …], "fields": {"<field path>": index into edits}}
  provenance jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX canonical_records_tenant_idx ON canonical_records (tenant_id, object_type);

-- Match keys (a contact's email, a company's domain), normalised: the database, not a
-- check-then-insert, makes the copies of one person in several CRMs one canonical record,
-- whichever connection meets them first and however many meet them at once.
CREATE TABLE canonical_match_keys (
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_type text NOT NULL,
  field text NOT NULL,
  value text NOT NULL,
  canonical_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, object_type, field, value)
);
CREATE INDEX canonical_match_keys_canonical_idx ON canonical_match_keys (canonical_id);

-- Records deleted from a connection and forgotten (their links removed): a read of one taken just
-- before the delete must not link it again as a new person and re-create it everywhere.
CREATE TABLE deleted_records (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  object_type text NOT NULL,
  external_id text NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, object_type, external_id)
);

-- When we last wrote the record in that connection: a read that began before it may predate our
-- write, and is taken again instead of being mistaken for that CRM's own edit.
ALTER TABLE record_snapshots ADD COLUMN written_at timestamptz;

-- Existing records: the canonical values are those of the most recently synced snapshot, with no
-- provenance (the next edit of a field stands; an empty value never erases one without it).
INSERT INTO canonical_records (canonical_id, tenant_id, object_type, fields)
SELECT DISTINCT ON (l.canonical_id) l.canonical_id, l.tenant_id, l.object_type, COALESCE(s.fields, '{}'::jsonb)
  FROM record_links l
  LEFT JOIN record_snapshots s USING (canonical_id, connection_id)
 ORDER BY l.canonical_id, s.synced_at DESC NULLS LAST;

INSERT INTO canonical_match_keys (tenant_id, object_type, field, value, canonical_id)
SELECT tenant_id, object_type, key.field, key.value, canonical_id
  FROM canonical_records,
       LATERAL (
         SELECT 'email' AS field, lower(btrim(fields->>'email')) AS value WHERE object_type = 'contact'
         UNION ALL
         SELECT 'domain', regexp_replace(regexp_replace(lower(btrim(COALESCE(fields->>'domain', fields->>'website'))), '^[a-z][a-z0-9+.-]*://', ''), '^www\.|[/?#:].*$', '', 'g')
          WHERE object_type = 'company'
       ) AS key
 WHERE key.value IS NOT NULL AND key.value <> ''
 ORDER BY canonical_id
ON CONFLICT DO NOTHING;

-- Down Migration
ALTER TABLE record_snapshots DROP COLUMN written_at;
DROP TABLE deleted_records;
DROP TABLE canonical_match_keys;
DROP TABLE canonical_records;
