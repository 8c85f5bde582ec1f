-- Up Migration

-- One row per consent started by `crm-sync connection connect`: what the callback needs to finish
-- it (the connection to create, its non-secret settings, the PKCE verifier sealed) and whether it
-- was used. The callback consumes a row once (used_at), so a replayed `state` finds it used; the
-- signed state carries the same expiry, checked before this table is read.
CREATE TABLE oauth_consents (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  connection_id text NOT NULL,
  provider text NOT NULL,
  -- Zoho's data centre the user asked for (the callback must come from it); NULL elsewhere.
  region text,
  -- Not secret: settings given at connect (e.g. sync settings, Dynamics' org URL).
  settings jsonb NOT NULL DEFAULT '{}',
  -- AES-256-GCM envelope (src/store/credential-cipher.ts) of { codeVerifier }, bound to "oauth-consent/<id>"; never plaintext.
  secret bytea NOT NULL,
  secret_key_id text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  -- What the callback did with it (connected, denied, refused: ...), for operators.
  outcome text
);

CREATE INDEX oauth_consents_expires_at ON oauth_consents (expires_at);

-- Down Migration
DROP TABLE oauth_consents;
