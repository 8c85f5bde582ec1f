import type { WebhookSubscription } from '../connectors/webhook-subscriptions';
import { objectTypeSchema } from '../model/identifiers';
import { withTransaction, type Queryable } from './database';
import type pg from 'pg';

export type WebhookRegistrationState = 'registered' | 'manual' | 'removed' | 'failed';

/** A connection's webhook registration as `sync status` shows it. */
export interface WebhookRegistrationRecord {
  connectionId: string;
  state: WebhookRegistrationState;
  callbackUrl: string;
  /** The key a shared callback dispatches this connection's deliveries by; null for its own route. */
  dispatchKey: string | null;
  /** What an administrator must set where the vendor subscribes at app level only. */
  instructions: string[] | null;
  lastError: string | null;
  updatedAt: Date;
  subscriptions: WebhookSubscription[];
}

/**
 * Where the product keeps what it registered at each vendor (tables `webhook_registrations` and
 * `webhook_subscriptions`), so disable and delete can remove exactly that and the connection
 * workflow can renew what lapses. Holds no secret.
 */
export class WebhookSubscriptionsRepository {
  constructor(private readonly db: pg.Pool) {}

  async get(connectionId: string): Promise<WebhookRegistrationRecord | undefined> {
    const registration = await this.db.query<{ state: WebhookRegistrationState; callback_url: string; dispatch_key: string | null; instructions: string[] | null; last_error: string | null; updated_at: Date }>(
      'SELECT state, callback_url, dispatch_key, instructions, last_error, updated_at FROM webhook_registrations WHERE connection_id = $1',
      [connectionId],
    );
    const row = registration.rows[0];
    if (!row) return undefined;
    return {
      connectionId,
      state: row.state,
      callbackUrl: row.callback_url,
      dispatchKey: row.dispatch_key,
      instructions: row.instructions,
      lastError: row.last_error,
      updatedAt: row.updated_at,
      subscriptions: await this.subscriptions(connectionId),
    };
  }

  async subscriptions(connectionId: string, db: Queryable = this.db): Promise<WebhookSubscription[]> {
    const result = await db.query<{ kind: string; vendor_id: string; object_type: string | null; expires_at: Date | null; related_ids: string[] }>(
      'SELECT kind, vendor_id, object_type, expires_at, related_ids FROM webhook_subscriptions WHERE connection_id = $1 ORDER BY kind, object_type NULLS FIRST, vendor_id',
      [connectionId],
    );
    return result.rows.map((row) => ({
      kind: row.kind,
      id: row.vendor_id,
      objectType: row.object_type === null ? null : objectTypeSchema.parse(row.object_type),
      expiresAt: row.expires_at === null ? null : row.expires_at.toISOString(),
      ...(row.related_ids.length > 0 ? { relatedIds: row.related_ids } : {}),
    }));
  }

  /** Replaces the connection's registration and subscriptions with what the vendor now holds. */
  async record(
    connectionId: string,
    registration: { state: WebhookRegistrationState; callbackUrl: string; dispatchKey?: string | undefined; instructions?: string[] | undefined; lastError?: string | undefined },
    subscriptions: readonly WebhookSubscription[],
  ): Promise<void> {
    await withTransaction(this.db, async (db) => {
      await db.query(
        `INSERT INTO webhook_registrations (connection_id, state, callback_url, dispatch_key, instructions, last_error, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp())
         ON CONFLICT (connection_id) DO UPDATE SET state = EXCLUDED.state, callback_url = EXCLUDED.callback_url, dispatch_key = EXCLUDED.dispatch_key,
           instructions = EXCLUDED.instructions, last_error = EXCLUDED.last_error, updated_at = EXCLUDED.updated_at`,
        [connectionId, registration.state, registration.callbackUrl, registration.dispatchKey ?? null, registration.instructions === undefined ? null : JSON.stringify(registration.instructions), registration.lastError ?? null],
      );
      await db.query('DELETE FROM webhook_subscriptions WHERE connection_id = $1', [connectionId]);
      for (const subscription of subscriptions) await insertSubscription(db, connectionId, subscription, null);
    });
  }

  /** A failure to register or remove, kept beside whatever is still registered. */
  async recordFailure(connectionId: string, callbackUrl: string, message: string): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_registrations (connection_id, state, callback_url, last_error, updated_at)
       VALUES ($1, 'failed', $2, $3, clock_timestamp())
       ON CONFLICT (connection_id) DO UPDATE SET state = 'failed', last_error = EXCLUDED.last_error, updated_at = EXCLUDED.updated_at`,
      [connectionId, callbackUrl, message],
    );
  }

  /** One subscription renewed at the vendor: its new expiry (and id, when the vendor gave a new one). */
  async replaceSubscription(connectionId: string, before: WebhookSubscription, after: WebhookSubscription): Promise<void> {
    await withTransaction(this.db, async (db) => {
      await db.query('DELETE FROM webhook_subscriptions WHERE connection_id = $1 AND kind = $2 AND vendor_id = $3', [connectionId, before.kind, before.id]);
      await insertSubscription(db, connectionId, after, new Date());
    });
  }

  /**
   * Runs `work` holding the connection's registration lock (a transaction-scoped advisory lock on a
   * client of its own), so subscribing, renewing and removing never interleave: a renewal that
   * started before `disable` finishes before the removal, and one after it finds nothing to renew.
   * `lockCallback` adds, on the same client (one pool client in all, always after the connection's),
   * the lock of a callback URL several connections share, so one connection's removal cannot
   * interleave with another's subscribe on that URL.
   */
  async withConnectionLock<T>(connectionId: string, work: (locks: { lockCallback(callbackUrl: string): Promise<void> }) => Promise<T>): Promise<T> {
    return withTransaction(this.db, async (db) => {
      await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('webhook-registration:' || $1, 0))`, [connectionId]);
      return work({
        lockCallback: async (callbackUrl) => {
          await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('webhook-callback:' || $1, 0))`, [callbackUrl]);
        },
      });
    });
  }

  /** The connections a shared callback delivers to under `dispatchKey` (registered ones only). */
  async connectionsByDispatchKey(dispatchKey: string): Promise<string[]> {
    const result = await this.db.query<{ connection_id: string }>(
      "SELECT connection_id FROM webhook_registrations WHERE state = 'registered' AND dispatch_key = $1 ORDER BY connection_id",
      [dispatchKey],
    );
    return result.rows.map((row) => row.connection_id);
  }

  /**
   * Which of `subscriptions` another connection's registration still holds (`kind:id`): on a shared
   * callback they are the vendor's one subscription for all of them, not to be removed yet.
   */
  async heldByOthers(connectionId: string, subscriptions: readonly WebhookSubscription[]): Promise<Set<string>> {
    if (subscriptions.length === 0) return new Set();
    const result = await this.db.query<{ kind: string; vendor_id: string }>(
      `SELECT DISTINCT s.kind, s.vendor_id FROM webhook_subscriptions s
         JOIN webhook_registrations r ON r.connection_id = s.connection_id AND r.state = 'registered'
        WHERE s.connection_id <> $1 AND (s.kind, s.vendor_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
      [connectionId, subscriptions.map((subscription) => subscription.kind), subscriptions.map((subscription) => subscription.id)],
    );
    return new Set(result.rows.map((row) => subscriptionKey({ kind: row.kind, id: row.vendor_id })));
  }

  /** The earliest moment a subscription of the connection lapses, or null when none does. */
  async earliestExpiry(connectionId: string): Promise<string | null> {
    const result = await this.db.query<{ earliest: Date | null }>('SELECT min(expires_at) AS earliest FROM webhook_subscriptions WHERE connection_id = $1', [connectionId]);
    return result.rows[0]?.earliest?.toISOString() ?? null;
  }
}

/** A subscription's identity at its vendor. */
export function subscriptionKey(subscription: Pick<WebhookSubscription, 'kind' | 'id'>): string {
  return `${subscription.kind}:${subscription.id}`;
}

async function insertSubscription(db: Queryable, connectionId: string, subscription: WebhookSubscription, renewedAt: Date | null): Promise<void> {
  await db.query(
    `INSERT INTO webhook_subscriptions (connection_id, kind, vendor_id, object_type, expires_at, related_ids, renewed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (connection_id, kind, vendor_id) DO UPDATE SET object_type = EXCLUDED.object_type, expires_at = EXCLUDED.expires_at,
       related_ids = EXCLUDED.related_ids, renewed_at = EXCLUDED.renewed_at`,
    [connectionId, subscription.kind, subscription.id, subscription.objectType, subscription.expiresAt, subscription.relatedIds ?? [], renewedAt],
  );
}
