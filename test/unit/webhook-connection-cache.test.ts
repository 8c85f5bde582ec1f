import { describe, expect, it } from 'vitest';
import type { ConnectionSummary } from '../../src/store/connections-repository';
import { TtlCache, webhookConnectionCache } from '../../src/webhooks/connection-cache';

interface Value {
  secret: string;
}

/** A loader the test answers by hand, counting its calls. */
function controlledLoader(): {
  load: (key: string) => Promise<Value | undefined>;
  calls: { key: string; answer(value: Value | undefined): void; fail(error: Error): void }[];
} {
  const calls: ReturnType<typeof controlledLoader>['calls'] = [];
  return {
    calls,
    load: (key) =>
      new Promise((resolve, reject) => {
        calls.push({ key, answer: resolve, fail: reject });
      }),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TtlCache', () => {
  it('serves a loaded value until the TTL, then loads again', async () => {
    let now = 1_000;
    const { load, calls } = controlledLoader();
    const cache = new TtlCache(load, { ttlMs: 30_000, refreshFloorMs: 1_000, now: () => now });
    const first = cache.get('c');
    calls[0]!.answer({ secret: 's1' });
    expect(await first).toEqual({ secret: 's1' });

    now += 29_999;
    expect(await cache.get('c')).toEqual({ secret: 's1' });
    expect(calls).toHaveLength(1);

    now += 1;
    const expired = cache.get('c');
    expect(calls).toHaveLength(2);
    calls[1]!.answer({ secret: 's2' });
    expect(await expired).toEqual({ secret: 's2' });
  });

  it('shares one load among concurrent misses of a key', async () => {
    const { load, calls } = controlledLoader();
    const cache = new TtlCache(load, { ttlMs: 30_000, refreshFloorMs: 1_000 });
    const waiting = Array.from({ length: 20 }, () => cache.get('c'));
    const other = cache.get('d');
    expect(calls.map((call) => call.key)).toEqual(['c', 'd']);
    calls[0]!.answer({ secret: 's' });
    calls[1]!.answer({ secret: 'd' });
    const values = await Promise.all(waiting);
    expect(new Set(values).size).toBe(1);
    expect(await other).toEqual({ secret: 'd' });
  });

  it('does not cache a failed load or an unknown key', async () => {
    const { load, calls } = controlledLoader();
    const cache = new TtlCache(load, { ttlMs: 30_000, refreshFloorMs: 1_000 });
    const failing = [cache.get('c'), cache.get('c')];
    calls[0]!.fail(new Error('postgres down'));
    for (const attempt of failing) await expect(attempt).rejects.toThrow('postgres down');

    const unknown = cache.get('c');
    expect(calls).toHaveLength(2);
    calls[1]!.answer(undefined);
    expect(await unknown).toBeUndefined();
    expect(cache.size).toBe(0);

    const found = cache.get('c');
    expect(calls).toHaveLength(3);
    calls[2]!.answer({ secret: 's' });
    expect(await found).toEqual({ secret: 's' });
    expect(cache.size).toBe(1);
  });

  it('refresh after a failed check: reloads once per floor interval, answers only a newer value', async () => {
    let now = 0;
    const { load, calls } = controlledLoader();
    const cache = new TtlCache(load, { ttlMs: 30_000, refreshFloorMs: 1_000, now: () => now });
    const loading = cache.get('c');
    calls[0]!.answer({ secret: 'old' });
    const old = (await loading)!;

    // Within the floor: no reload (a forged signature cannot make every delivery a load).
    now = 500;
    expect(await cache.refresh('c', old)).toBeUndefined();
    expect(calls).toHaveLength(1);

    // Past it: one reload shared by every concurrent mismatch.
    now = 1_500;
    const refreshes = [cache.refresh('c', old), cache.refresh('c', old), cache.refresh('c', old)];
    await tick();
    expect(calls).toHaveLength(2);
    calls[1]!.answer({ secret: 'new' });
    const fresh = await Promise.all(refreshes);
    expect(fresh.map((value) => value?.secret)).toEqual(['new', 'new', 'new']);
    // The reloaded value is what get serves now, and a caller still holding the old one is handed it.
    expect(await cache.get('c')).toBe(fresh[0]);
    expect(await cache.refresh('c', old)).toBe(fresh[0]);

    // A reload that finds the same secret again (the signature was simply wrong) answers nothing new.
    now = 3_000;
    const same = cache.refresh('c', fresh[0]!);
    await tick();
    const unchanged = fresh[0]!;
    calls[2]!.answer(unchanged);
    expect(await same).toBeUndefined();
  });
});

describe('webhookConnectionCache', () => {
  const summary = (status: ConnectionSummary['status']): ConnectionSummary => ({ id: 'c', tenantId: 't', provider: 'salesforce', settings: {}, status, updatedAt: new Date(0) });

  it('loads the row and the webhook secrets once per TTL, and never unseals for a disabled connection', async () => {
    let now = 0;
    const counts = { rows: 0, unseals: 0 };
    let status: ConnectionSummary['status'] = 'active';
    const cache = webhookConnectionCache(
      {
        getConnection: async () => {
          counts.rows += 1;
          return summary(status);
        },
        loadCredentials: async () => {
          counts.unseals += 1;
          return { webhook: { secret: 'hook-secret', empty: '' }, accessToken: 'not-for-webhooks' };
        },
      },
      { ttlMs: 30_000, now: () => now },
    );
    const entries = await Promise.all([cache.get('c'), cache.get('c'), cache.get('c')]);
    expect(entries[0]?.secrets).toEqual({ secret: 'hook-secret' });
    expect(Object.isFrozen(entries[0]?.secrets)).toBe(true);
    expect(counts).toEqual({ rows: 1, unseals: 1 });

    status = 'disabled';
    now = 30_000;
    const disabled = await cache.get('c');
    expect(disabled?.connection.status).toBe('disabled');
    expect(disabled?.secrets).toEqual({});
    expect(counts).toEqual({ rows: 2, unseals: 1 });
  });

  it('answers undefined for an unknown connection without unsealing', async () => {
    let unseals = 0;
    const cache = webhookConnectionCache({
      getConnection: async () => undefined,
      loadCredentials: async () => {
        unseals += 1;
        return {};
      },
    });
    expect(await cache.get('nope')).toBeUndefined();
    expect(unseals).toBe(0);
    expect(cache.size).toBe(0);
  });
});
