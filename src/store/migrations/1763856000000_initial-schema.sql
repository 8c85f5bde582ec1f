-- Up Migration

-- Ids are operator-chosen slugs: they appear in workflow ids (sync:<tenant>:<connection>),
-- URLs and CLI arguments, so they are kept to characters that are safe in all three.
CREATE TABLE tenants (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connections (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  provider text NOT NULL CHECK (provider IN ('salesforce', 'hubspot', 'dynamics', 'pipedrive', 'zoho')),
  -- Non-secret settings (base URLs, poll interval, mapping overrides).
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- AES-256-GCM envelope (see src/store/credential-cipher.ts); never plaintext.
  credentials bytea NOT NULL,
  credentials_key_id text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'needs-reauth', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_tenant_idx ON connections (tenant_id);

-- One row per (canonical record, connection): which external id the record has in that CRM.
CREATE TABLE record_links (
  canonical_id uuid NOT NULL,
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_type text NOT NULL CHECK (object_type IN ('contact', 'company', 'deal', 'activity')),
  external_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (canonical_id, connection_id),
  UNIQUE (connection_id, object_type, external_id)
);
CREATE INDEX record_links_tenant_idx ON record_links (tenant_id, object_type);

-- The canonical field values as last synced with a connection: the base of every field delta
-- (an empty delta is our own write echoing back) and of conflict detection.
CREATE TABLE record_snapshots (
  canonical_id uuid NOT NULL,
  connection_id text NOT NULL,
  fields jsonb NOT NULL,
  source_modified_at timestamptz,
  synced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (canonical_id, connection_id),
  FOREIGN KEY (canonical_id, connection_id) REFERENCES record_links (canonical_id, connection_id) ON DELETE CASCADE
);

-- Audit of every per-field conflict decision.
CREATE TABLE conflicts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_type text NOT NULL,
  canonical_id uuid NOT NULL,
  field text NOT NULL,
  policy text NOT NULL,
  -- [{connectionId, value, modifiedAt}]: what each side held when the decision was made.
  candidates jsonb NOT NULL,
  winner_connection_id text,
  decided_value jsonb,
  decided_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conflicts_record_idx ON conflicts (tenant_id, canonical_id, decided_at);

-- Down Migration
DROP TABLE conflicts;
DROP TABLE record_snapshots;
DROP TABLE record_links;
DROP TABLE connections;
DROP TABLE tenants;
