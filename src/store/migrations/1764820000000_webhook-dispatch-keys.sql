-- Up Migration

-- A vendor that keeps one webhook target for many connections (HubSpot: one target URL per app)
-- delivers every account's events to one shim route; the shim finds the connection by the key
-- each event carries (HubSpot: `<appId>:<portalId>`). NULL for a per-connection route.
ALTER TABLE webhook_registrations ADD COLUMN dispatch_key text;

CREATE INDEX webhook_registrations_dispatch_key ON webhook_registrations (dispatch_key) WHERE state = 'registered' AND dispatch_key IS NOT NULL;

-- Down Migration
DROP INDEX webhook_registrations_dispatch_key;
ALTER TABLE webhook_registrations DROP COLUMN dispatch_key;
