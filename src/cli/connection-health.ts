import type { CliContext } from './context';
import { WebhookSubscriptionsRepository, type WebhookRegistrationRecord } from '../store/webhook-subscriptions-repository';

/** What `sync status` shows beside the workflow's own state: webhook subscriptions and token expiry (no secret). */
export interface ConnectionHealth {
  webhooks: Omit<WebhookRegistrationRecord, 'connectionId' | 'updatedAt'> & { updatedAt: string } | null;
  token: { expiresAt: string | null; refreshedAt: string } | null;
}

export async function connectionHealth(ctx: CliContext, connectionId: string): Promise<ConnectionHealth> {
  const [registration, token] = await Promise.all([
    new WebhookSubscriptionsRepository(ctx.pool).get(connectionId),
    ctx.pool.query<{ expires_at: Date | null; refreshed_at: Date }>('SELECT expires_at, refreshed_at FROM connection_tokens WHERE connection_id = $1', [connectionId]),
  ]);
  const tokenRow = token.rows[0];
  return {
    webhooks: registration ? { state: registration.state, callbackUrl: registration.callbackUrl, dispatchKey: registration.dispatchKey, instructions: registration.instructions, lastError: registration.lastError, updatedAt: registration.updatedAt.toISOString(), subscriptions: registration.subscriptions } : null,
    token: tokenRow ? { expiresAt: tokenRow.expires_at?.toISOString() ?? null, refreshedAt: tokenRow.refreshed_at.toISOString() } : null,
  };
}

/** The status table's rows for it. */
export function healthRows(health: ConnectionHealth): [string, string][] {
  const webhooks = health.webhooks;
  let line: string;
  if (!webhooks) line = 'none registered by crm-sync (crm-sync connection subscribe <id>)';
  else if (webhooks.state === 'manual') line = `manual (app level): ${(webhooks.instructions ?? []).join(' ')}`;
  else {
    const expiries = webhooks.subscriptions.flatMap((subscription) => (subscription.expiresAt ? [subscription.expiresAt] : [])).sort();
    const kinds = [...new Set(webhooks.subscriptions.map((subscription) => subscription.kind))].join(', ');
    line = `${webhooks.state}: ${webhooks.subscriptions.length} subscription(s)${kinds ? ` (${kinds})` : ''} to ${webhooks.callbackUrl}${webhooks.dispatchKey !== null ? ` (shared by the app's connections; this one's deliveries are those keyed ${webhooks.dispatchKey})` : ''}${expiries[0] ? `, earliest expiry ${expiries[0]}` : ''}${webhooks.lastError ? `; last error: ${webhooks.lastError}` : ''}`;
  }
  const token = health.token ? `${health.token.expiresAt ?? 'no expiry given'} (refreshed ${health.token.refreshedAt})` : 'no shared token yet (API token, or not refreshed since connect)';
  return [
    ['webhooks', line],
    ['token expires', token],
  ];
}
