import { describe, expect, it } from 'vitest';
import { ParkedRecords, parkedOverflowSchema } from '../../src/workflows/connection-sync/parked-records';
import { boundPending } from '../../src/workflows/connection-sync/pending-carry';
import { IDLE_SCHEDULE, SELF_HEALING_CLASSES, selfHealingDelayMs, selfHealingStep, type SelfHealingSchedule } from '../../src/workflows/connection-sync/self-healing-schedule';
import type { ErrorClass } from '../../src/connectors/errors';

const HOUR = 3_600_000;
const settings = { firstRetryMs: HOUR, maxRetryMs: 24 * HOUR };
const t0 = Date.parse('2026-12-06T00:00:00.000Z');

describe('the self-healing schedule', () => {
  it('waits 1 h, 2 h, 4 h... between automatic retries, never more than 24 h', () => {
    expect(Array.from({ length: 8 }, (_, round) => selfHealingDelayMs(round, settings) / HOUR)).toEqual([1, 2, 4, 8, 16, 24, 24, 24]);
    expect(selfHealingDelayMs(10_000, settings)).toBe(24 * HOUR);
  });

  it('starts when a self-healing record parks, retries when due, and resets once none is left', () => {
    let schedule: SelfHealingSchedule = IDLE_SCHEDULE;
    const at = (now: number, healable: number) => {
      const step = selfHealingStep(schedule, { healable, now, settings });
      schedule = step.schedule;
      return step.retryNow;
    };
    expect(at(t0, 0)).toBe(false);
    expect(schedule).toEqual(IDLE_SCHEDULE);
    // A record parks: the first retry is an hour away, not now.
    expect(at(t0, 3)).toBe(false);
    expect(schedule.nextAt).toBe(new Date(t0 + HOUR).toISOString());
    expect(at(t0 + HOUR - 1, 3)).toBe(false);
    // Due: retried, and the next one is two hours later; then four.
    expect(at(t0 + HOUR, 3)).toBe(true);
    expect(schedule).toEqual({ round: 1, nextAt: new Date(t0 + 3 * HOUR).toISOString() });
    expect(at(t0 + 3 * HOUR, 3)).toBe(true);
    expect(schedule).toEqual({ round: 2, nextAt: new Date(t0 + 7 * HOUR).toISOString() });
    // The target healed: nothing parked, the next outage starts from an hour again.
    expect(at(t0 + 7 * HOUR, 0)).toBe(false);
    expect(schedule).toEqual(IDLE_SCHEDULE);
    expect(at(t0 + 8 * HOUR, 1)).toBe(false);
    expect(schedule).toEqual({ round: 0, nextAt: new Date(t0 + 9 * HOUR).toISOString() });
  });
});

const failure = (errorClass: ErrorClass) => ({ provider: 'hubspot' as const, errorClass, message: errorClass });
const parkedAt = '2026-12-06T06:00:00.000Z';
const record = (id: string, errorClass: ErrorClass) => ({ objectType: 'contact' as const, sourceExternalId: id, targetConnectionId: 'hs', reason: 'failed' as const, error: failure(errorClass), parkedAt });

describe('retrying parked records by error class', () => {
  it('queues only the records that failed with those classes, and counts them', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 10);
    parked.park(record('a', 'transient'));
    parked.park(record('b', 'validation'));
    parked.park(record('c', 'rate-limited'));
    parked.park(record('d', 'conflict'));
    expect(parked.countFailedWith(SELF_HEALING_CLASSES)).toBe(2);
    expect(parked.retryFailedWith(SELF_HEALING_CLASSES).map((ref) => ref.externalId)).toEqual(['a', 'c']);
    expect(parked.retryFailedWith(['validation']).map((ref) => ref.externalId)).toEqual(['b']);
    // Nothing in the store: no store retry started.
    expect(parked.pendingRetry).toBeNull();
  });

  it('retries the store by class, widening to all when another retry is under way', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 1);
    for (const id of ['a', 'b', 'c']) parked.park(record(id, 'transient'));
    const flush = parked.takeFlush(10)!;
    parked.flushed({ count: flush.park.length, oldestParkedAt: parkedAt, selfHealing: 2 });
    expect(parked.selfHealingInStore).toBe(2);
    parked.retryFailedWith(SELF_HEALING_CLASSES);
    expect(parked.pendingRetry).toEqual({ afterKey: '', keys: null, classes: SELF_HEALING_CLASSES });
    parked.retryFailedWith(SELF_HEALING_CLASSES);
    expect(parked.pendingRetry?.classes).toEqual(SELF_HEALING_CLASSES);
    parked.retryFailedWith(['validation']);
    expect(parked.pendingRetry).toEqual({ afterKey: '', keys: null, classes: null });
    // An operator's retry of named keys after an automatic one covers all, so the automatic one is not lost.
    parked.retryPageQueued(undefined);
    parked.retryFailedWith(SELF_HEALING_CLASSES);
    parked.retry(['contact:b:hs']);
    expect(parked.pendingRetry).toEqual({ afterKey: '', keys: null, classes: null });
  });
});

describe('the notices continue-as-new carries', () => {
  it('keeps those a poll cannot find again first, and leaves the rest to a poll', () => {
    const retry = (i: number) => ({ objectType: 'contact' as const, externalId: `retry-${i}` });
    const noticed = (i: number) => ({ objectType: 'contact' as const, externalId: `n-${i}`, eventId: `e-${i}` });
    const refs = [...Array.from({ length: 5 }, (_, i) => noticed(i)), ...Array.from({ length: 3 }, (_, i) => retry(i))];
    expect(boundPending(refs, 100)).toEqual({ pending: [retry(0), retry(1), retry(2), ...refs.slice(0, 5)], leftBehind: 0 });
    const bounded = boundPending(refs, 4);
    expect(bounded.pending).toEqual([retry(0), retry(1), retry(2), noticed(0)]);
    expect(bounded.leftBehind).toBe(4);
  });
});
