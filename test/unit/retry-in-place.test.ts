import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors';
import { retryInPlace } from '../../src/connectors/retry-in-place';

const failure = (errorClass: ConnectorError['errorClass'], retryAfterMs?: number) => new ConnectorError({ provider: 'hubspot', errorClass, message: errorClass, retryAfterMs });

/** A call failing with `failures` in turn, then answering 'done'; and the waits asked for. */
function scripted(failures: ConnectorError[]) {
  const waits: number[] = [];
  let calls = 0;
  const call = async (): Promise<string> => {
    calls += 1;
    const next = failures.shift();
    if (next) throw next;
    return 'done';
  };
  return { call, waits, sleep: async (ms: number) => void waits.push(ms), calls: () => calls };
}

describe('retryInPlace', () => {
  it('calls again after a 429 (waiting as the vendor asked) and after a transient failure (backing off)', async () => {
    const s = scripted([failure('rate-limited', 1_000), failure('transient'), failure('transient')]);
    await expect(retryInPlace(s.call, { sleep: s.sleep, firstWaitMs: 100 })).resolves.toBe('done');
    expect(s.waits).toEqual([1_000, 200, 400]);
    expect(s.calls()).toBe(4);
  });

  it('does not call again after a refusal no retry can cure, a spent quota, or an unknown error', async () => {
    for (const error of [failure('validation'), failure('auth'), failure('quota-exhausted', 60_000), new Error('bug')]) {
      const s = scripted([]);
      let calls = 0;
      const call = async (): Promise<string> => {
        calls += 1;
        throw error;
      };
      await expect(retryInPlace(call, { sleep: s.sleep })).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });

  it('gives up after its attempts, and on a wait longer than it may take', async () => {
    const spent = scripted([failure('transient'), failure('transient'), failure('transient')]);
    await expect(retryInPlace(spent.call, { sleep: spent.sleep, attempts: 3 })).rejects.toMatchObject({ errorClass: 'transient' });
    expect(spent.calls()).toBe(3);
    const long = scripted([failure('rate-limited', 120_000)]);
    await expect(retryInPlace(long.call, { sleep: long.sleep, maxWaitMs: 30_000 })).rejects.toMatchObject({ errorClass: 'rate-limited' });
    expect(long.calls()).toBe(1);
  });
});
