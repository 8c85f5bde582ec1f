-- Up Migration

-- A connection's OAuth tokens, one row per connection and shared by every worker process: the
-- access token in use and the newest refresh token (vendors that rotate refresh tokens refuse the
-- one before). Written only by the worker holding the connection's token lock (an advisory lock,
-- src/store/connection-tokens-repository.ts), which refreshes at the vendor and stores the result
-- before releasing it. Sealed like `connections.credentials`; a row newer than the credentials
-- supersedes their refresh token, and replacing the credentials (re-authorisation) deletes it.
CREATE TABLE connection_tokens (
  connection_id text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
  -- AES-256-GCM envelope (src/store/credential-cipher.ts), bound to "<connection id>/token"; never plaintext.
  token bytea NOT NULL,
  token_key_id text NOT NULL,
  -- Not secret: when the access token lapses (NULL when the vendor does not say), for operators.
  expires_at timestamptz,
  refreshed_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE connection_tokens;
