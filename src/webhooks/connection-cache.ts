import { isSyncing, type ConnectionsRepository, type ConnectionSummary } from '../store/connections-repository';
import { webhookCredentials } from './secrets';

/** What the routes need of a connection to check a delivery: its row and the `webhook` part of its unsealed credentials. */
export interface WebhookConnection {
  connection: ConnectionSummary;
  secrets: Readonly<Record<string, string>>;
}

export interface TtlCacheOptions {
  /** How long a loaded value is served without asking PostgreSQL again. */
  ttlMs: number;
  /**
   * After a value failed a check (a signature that does not match the cached secret), how old it
   * must be before `refresh` reloads it. Keeps forged deliveries from turning into one load each.
   */
  refreshFloorMs: number;
  now?: () => number;
  /** Above this many entries, expired ones are swept on insert. */
  sweepAbove?: number;
}

interface Entry<V> {
  value: V;
  loadedAt: number;
}

/**
 * A per-process cache of values loaded by key, for a short time. Only found values are kept: an
 * unknown key (`undefined`) and a failed load are asked again next time, so neither an outage nor
 * an arbitrary connection id in a URL stays in memory. Concurrent misses of one key share one
 * load. What the cache holds is never logged; it lives in this process's memory only.
 */
export class TtlCache<V extends object> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V | undefined>>();
  private readonly now: () => number;
  private readonly sweepAbove: number;

  constructor(
    private readonly load: (key: string) => Promise<V | undefined>,
    private readonly options: TtlCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sweepAbove = options.sweepAbove ?? 10_000;
  }

  /** The cached value while fresh, else the (shared) result of loading it. */
  get(key: string): Promise<V | undefined> {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.loadedAt < this.options.ttlMs) return Promise.resolve(entry.value);
    return this.reload(key);
  }

  /**
   * `stale` failed a check: answers a newer value when there is one (loaded by someone else, or
   * loaded now when `stale` is older than the refresh floor), `undefined` when there is none to
   * try. So a secret changed at the vendor and in PostgreSQL (reauthorise) is picked up at once,
   * while a flood of forgeries costs at most one load per floor interval.
   */
  async refresh(key: string, stale: V): Promise<V | undefined> {
    const entry = this.entries.get(key);
    if (entry && entry.value !== stale) return entry.value;
    const inFlight = this.loading.get(key);
    if (inFlight) return settleNewer(await inFlight, stale);
    if (entry && this.now() - entry.loadedAt < this.options.refreshFloorMs) return undefined;
    return settleNewer(await this.reload(key), stale);
  }

  /** Forgets a key (the next get loads it). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private reload(key: string): Promise<V | undefined> {
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    const startedAt = this.now();
    const loading = this.load(key).then(
      (value) => {
        this.loading.delete(key);
        if (value === undefined) this.entries.delete(key);
        else this.store(key, { value, loadedAt: startedAt });
        return value;
      },
      (error: unknown) => {
        this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, loading);
    return loading;
  }

  private store(key: string, entry: Entry<V>): void {
    if (this.entries.size >= this.sweepAbove) {
      const now = this.now();
      for (const [other, { loadedAt }] of this.entries) if (now - loadedAt >= this.options.ttlMs) this.entries.delete(other);
    }
    this.entries.set(key, entry);
  }
}

function settleNewer<V>(value: V | undefined, stale: V): V | undefined {
  return value === stale ? undefined : value;
}

export const DEFAULT_SECRET_TTL_MS = 30_000;
export const DEFAULT_SECRET_REFRESH_FLOOR_MS = 1_000;

/**
 * The connection row and unsealed webhook secret per connection, cached for `ttlMs` (default
 * 30 s) so a delivery costs neither a PostgreSQL round trip nor an unseal. The price: a change
 * that only takes something away — the old secret after `crm-sync connection reauthorise`, a
 * disabled connection, a row re-sealed by `crm-sync keys rotate` — is seen by a running shim
 * within the TTL, not at once. A delivery signed with a secret the cache does not know yet makes
 * it reload (at most once per `refreshFloorMs`), so a new secret works immediately. A failed
 * signature check never marks anything valid: the check runs on every delivery against the
 * cached secret, and only found connections are cached.
 */
export function webhookConnectionCache(
  connections: Pick<ConnectionsRepository, 'getConnection' | 'loadCredentials'>,
  options: Partial<Pick<TtlCacheOptions, 'ttlMs' | 'refreshFloorMs' | 'now'>> = {},
): TtlCache<WebhookConnection> {
  return new TtlCache<WebhookConnection>(
    async (connectionId) => {
      const connection = await connections.getConnection(connectionId);
      if (!connection) return undefined;
      // A disabled connection is refused before any secret is needed: nothing to unseal.
      const secrets = !isSyncing(connection.status) ? {} : webhookCredentials(await connections.loadCredentials(connectionId)) ?? {};
      return { connection, secrets: Object.freeze(secrets) };
    },
    { ttlMs: options.ttlMs ?? DEFAULT_SECRET_TTL_MS, refreshFloorMs: options.refreshFloorMs ?? DEFAULT_SECRET_REFRESH_FLOOR_MS, ...(options.now ? { now: options.now } : {}) },
  );
}
