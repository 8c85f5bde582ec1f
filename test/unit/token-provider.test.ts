import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors';
import { needsRenewal, SingleFlightTokenProvider, withFreshToken, type ConnectionToken, type IssuedToken, type SharedTokenStore } from '../../src/connectors/token-provider';

/** A SharedTokenStore in memory: one holder at a time, as the PostgreSQL lock gives. */
function memoryStore(options: { failReads?: boolean } = {}): SharedTokenStore & { stored: ConnectionToken | undefined; writes: number } {
  let queue: Promise<unknown> = Promise.resolve();
  const store = {
    stored: undefined as ConnectionToken | undefined,
    writes: 0,
    read: async () => {
      if (options.failReads) throw new Error('connection terminated unexpectedly');
      return store.stored;
    },
    update: (work: (stored: ConnectionToken | undefined) => Promise<ConnectionToken>) => {
      const run = queue.then(async () => {
        const next = await work(store.stored);
        if (next !== store.stored) {
          store.stored = next;
          store.writes += 1;
        }
        return next;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
  return store;
}

describe('needsRenewal', () => {
  it('renews a missing token, and one within the skew of its expiry, the skew being at most a quarter of its life', () => {
    expect(needsRenewal(undefined, 0, 60_000)).toBe(true);
    expect(needsRenewal({ accessToken: 'a', expiresAt: null }, 10 ** 12, 60_000)).toBe(false);
    const halfHour = { accessToken: 'a', issuedAt: 0, expiresAt: 30 * 60_000 };
    expect(needsRenewal(halfHour, 29 * 60_000 - 1, 60_000)).toBe(false);
    expect(needsRenewal(halfHour, 29 * 60_000, 60_000)).toBe(true);
    // Ten seconds of life: renewed in its last 2.5 s, not on every call.
    const short = { accessToken: 'a', issuedAt: 0, expiresAt: 10_000 };
    expect(needsRenewal(short, 7_499, 60_000)).toBe(false);
    expect(needsRenewal(short, 7_500, 60_000)).toBe(true);
    // A token handed in without its issue time: the whole skew.
    expect(needsRenewal({ accessToken: 'a', expiresAt: 10_000 }, 0, 60_000)).toBe(true);
  });
});

describe('SingleFlightTokenProvider with a shared store', () => {
  const vendor = () => {
    const calls: (string | undefined)[] = [];
    let n = 0;
    return {
      calls,
      refresh: async (refreshToken: string | undefined): Promise<IssuedToken> => {
        calls.push(refreshToken);
        await new Promise((resolve) => setTimeout(resolve, 10));
        n += 1;
        // A rotating vendor: every answer carries the next refresh token.
        return { accessToken: `at${n}`, expiresInMs: 10_000, refreshToken: `rt${n}` };
      },
    };
  };

  it('three providers (workers) renew once per expiry, each renewal with the refresh token the last one stored', async () => {
    let now = 0;
    const store = memoryStore();
    const endpoint = vendor();
    const workers = [0, 1, 2].map(() => new SingleFlightTokenProvider({ provider: 'pipedrive', refresh: endpoint.refresh, refreshToken: 'rt0', store, now: () => now }));
    const everyone = () => Promise.all(workers.flatMap((worker) => [worker.token(), worker.token()]));
    expect(new Set(await everyone())).toEqual(new Set(['at1']));
    now = 5_000;
    expect(new Set(await everyone())).toEqual(new Set(['at1']));
    now = 10_000;
    expect(new Set(await everyone())).toEqual(new Set(['at2']));
    expect(endpoint.calls).toEqual(['rt0', 'rt1']);
    expect(store.writes).toBe(2);
    expect(store.stored).toMatchObject({ accessToken: 'at2', refreshToken: 'rt2', issuedAt: 10_000, expiresAt: 20_000 });
    expect(workers.map((worker) => worker.refreshCount).reduce((a, b) => a + b)).toBe(2);
  });

  it('after a 401, takes the token another worker stored instead of refreshing again', async () => {
    const store = memoryStore();
    store.stored = { accessToken: 'theirs', expiresAt: null, refreshToken: 'rt-theirs' };
    const endpoint = vendor();
    const mine = new SingleFlightTokenProvider({ provider: 'salesforce', refresh: endpoint.refresh, initial: { accessToken: 'stale', expiresAt: null }, store });
    const used: string[] = [];
    const result = await withFreshToken(mine, 'salesforce', async (token) => {
      used.push(token);
      if (token === 'stale') throw new ConnectorError({ provider: 'salesforce', errorClass: 'auth', message: 'Session expired or invalid' });
      return token;
    });
    expect(result).toBe('theirs');
    expect(used).toEqual(['stale', 'theirs']);
    expect(endpoint.calls).toEqual([]);
    // The stored token refused too: now this worker refreshes, with the stored refresh token.
    await expect(mine.replace('theirs')).resolves.toBe('at1');
    expect(endpoint.calls).toEqual(['rt-theirs']);
  });

  it('a store that fails is transient, never a refused grant; a refusal by the vendor still is one', async () => {
    const call = async (): Promise<never> => {
      throw new ConnectorError({ provider: 'hubspot', errorClass: 'auth', message: 'expired' });
    };
    const broken = new SingleFlightTokenProvider({ provider: 'hubspot', refresh: vendor().refresh, initial: { accessToken: 'stale', expiresAt: null }, store: memoryStore({ failReads: true }) });
    await expect(withFreshToken(broken, 'hubspot', call)).rejects.toMatchObject({ errorClass: 'transient', message: expect.stringContaining('token store failed') as unknown });
    const refused = new SingleFlightTokenProvider({
      provider: 'hubspot',
      refresh: () => Promise.reject(new Error('BAD_REFRESH_TOKEN')),
      initial: { accessToken: 'stale', expiresAt: null },
      store: memoryStore(),
    });
    await expect(withFreshToken(refused, 'hubspot', call)).rejects.toMatchObject({ errorClass: 'auth' });
  });
});
