import { describe, expect, it } from 'vitest';
import { healthRows } from '../../src/cli/connection-health';
import { describeSubscribeOutcome, subscribedObjects, webhookCallbackUrl } from '../../src/lifecycle/webhook-registration';

describe('webhook registration: the pure parts', () => {
  it("builds the shim's route for a connection, whatever the base URL's trailing slashes", () => {
    expect(webhookCallbackUrl('https://hooks.example.com/', 'pipedrive', 'acme-pd')).toBe('https://hooks.example.com/webhooks/pipedrive/acme-pd');
    expect(webhookCallbackUrl('https://hooks.example.com/base//', 'zoho', 'acme zoho')).toBe('https://hooks.example.com/base/webhooks/zoho/acme%20zoho');
  });

  it('subscribes to the objects the connection syncs, or all of them when its sync settings do not parse', () => {
    expect(subscribedObjects({ sync: { objects: ['contact', 'deal'] } })).toEqual(['contact', 'deal']);
    expect(subscribedObjects({})).toEqual(['company', 'contact', 'deal', 'activity']);
    expect(subscribedObjects({ sync: { objects: ['lead'] } })).toEqual(['contact', 'company', 'deal', 'activity']);
  });

  it('says in one sentence what subscribing did, including what an administrator must set by hand', () => {
    expect(describeSubscribeOutcome({ kind: 'registered', callbackUrl: 'https://h/webhooks/zoho/z', subscriptions: [{ kind: 'zoho-channel', id: '1', objectType: null, expiresAt: null }] })).toBe(
      'Webhooks registered: 1 subscription(s) delivering to https://h/webhooks/zoho/z.',
    );
    expect(describeSubscribeOutcome({ kind: 'manual', callbackUrl: 'https://h/x', instructions: ['Set the target URL to https://h/x.', 'Subscribe to contact.creation.'] })).toBe(
      'Webhooks must be set up at app level by an administrator: Set the target URL to https://h/x. Subscribe to contact.creation.',
    );
  });

  it('shows subscriptions, their earliest expiry, the last error and the token expiry in sync status, never a secret field', () => {
    const rows = healthRows({
      webhooks: {
        state: 'failed',
        callbackUrl: 'https://h/webhooks/zoho/z',
        dispatchKey: null,
        instructions: null,
        lastError: 'subscribe failed: zoho auth',
        updatedAt: '2026-01-01T00:00:00.000Z',
        subscriptions: [
          { kind: 'zoho-channel', id: '2', objectType: null, expiresAt: '2026-01-08T00:00:00.000Z' },
          { kind: 'zoho-channel', id: '1', objectType: null, expiresAt: '2026-01-02T00:00:00.000Z' },
        ],
      },
      token: { expiresAt: '2026-01-01T01:00:00.000Z', refreshedAt: '2026-01-01T00:00:00.000Z' },
    });
    expect(rows).toEqual([
      ['webhooks', 'failed: 2 subscription(s) (zoho-channel) to https://h/webhooks/zoho/z, earliest expiry 2026-01-02T00:00:00.000Z; last error: subscribe failed: zoho auth'],
      ['token expires', '2026-01-01T01:00:00.000Z (refreshed 2026-01-01T00:00:00.000Z)'],
    ]);
    expect(healthRows({ webhooks: null, token: null })[0]).toEqual(['webhooks', 'none registered by crm-sync (crm-sync connection subscribe <id>)']);
  });
});
