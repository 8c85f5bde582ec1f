-- Up Migration

-- What crm-sync registered at each vendor so that changes are pushed to the shim (issue #15):
-- one registration per connection (where deliveries go, and whether the vendor took them through
-- its API or an administrator must set them at app level), and the vendor's subscriptions under
-- it. Nothing here is secret: the delivery secret (Basic-auth password, channel token) lives only
-- sealed in `connections.credentials` under `webhook`.
CREATE TABLE webhook_registrations (
  connection_id text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
  -- registered | manual (the vendor subscribes at app level: `instructions`) | removed | failed
  state text NOT NULL CHECK (state IN ('registered', 'manual', 'removed', 'failed')),
  callback_url text NOT NULL,
  instructions jsonb,
  -- The last failure's message (no secret: connector errors carry none), for `sync status`.
  last_error text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE webhook_subscriptions (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  -- The vendor's name for the thing (pipedrive-webhook, zoho-channel, ...) and its id there.
  kind text NOT NULL,
  vendor_id text NOT NULL,
  object_type text,
  -- When the vendor ends it unless renewed; NULL when it does not lapse.
  expires_at timestamptz,
  related_ids text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  renewed_at timestamptz,
  PRIMARY KEY (connection_id, kind, vendor_id)
);

CREATE INDEX webhook_subscriptions_expires_at ON webhook_subscriptions (expires_at) WHERE expires_at IS NOT NULL;

-- `connection delete` without --purge: credentials gone, links and snapshots kept.
ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_status_check;
ALTER TABLE connections ADD CONSTRAINT connections_status_check CHECK (status IN ('active', 'paused', 'needs-reauth', 'disabled', 'deleted'));

-- Down Migration
ALTER TABLE connections DROP CONSTRAINT connections_status_check;
ALTER TABLE connections ADD CONSTRAINT connections_status_check CHECK (status IN ('active', 'paused', 'needs-reauth', 'disabled'));
DROP TABLE webhook_subscriptions;
DROP TABLE webhook_registrations;
