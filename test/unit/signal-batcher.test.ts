import { describe, expect, it } from 'vitest';
import type { ChangeRef } from '../../src/model/sync';
import { SignalBatcher, takeBatch, type PendingDelivery } from '../../src/webhooks/signal-batcher';
import type { SignalTarget } from '../../src/webhooks/signal';
import type { ChangeNotices } from '../../src/workflows/messages';

const ref = (eventId: string): ChangeRef => ({ objectType: 'contact', externalId: `x-${eventId}`, eventId });
const delivery = (...eventIds: string[]): PendingDelivery => {
  const events = eventIds.map(ref);
  return { events, chars: JSON.stringify(events).length };
};
const target: SignalTarget = { tenantId: 't', connectionId: 'c' };

/** A send whose calls the test answers one by one. */
function controlledSend(): {
  send: (target: SignalTarget, notices: ChangeNotices) => Promise<void>;
  calls: { target: SignalTarget; notices: ChangeNotices; succeed(): void; fail(error: Error): void }[];
} {
  const calls: ReturnType<typeof controlledSend>['calls'] = [];
  return {
    calls,
    send: (to, notices) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ target: to, notices, succeed: resolve, fail: reject });
      }),
  };
}

/** Lets pending promise reactions run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** 'pending', 'ok', or the rejection's message. */
type Outcome = string;
function track(promise: Promise<void>): { outcome: Outcome } {
  const state = { outcome: 'pending' as Outcome };
  promise.then(
    () => void (state.outcome = 'ok'),
    (error: Error) => void (state.outcome = error.message),
  );
  return state;
}

describe('takeBatch', () => {
  it('takes whole deliveries in order up to the event cap and leaves the rest queued', () => {
    const queue = [delivery('a', 'b'), delivery('c'), delivery('d', 'e'), delivery('f')];
    const batch = takeBatch(queue, { maxEvents: 3, maxChars: 1e9 });
    expect(batch.flatMap((d) => d.events.map((e) => e.eventId))).toEqual(['a', 'b', 'c']);
    expect(queue.flatMap((d) => d.events.map((e) => e.eventId))).toEqual(['d', 'e', 'f']);
  });

  it('stops at the size cap', () => {
    const queue = [delivery('a'), delivery('b'), delivery('c')];
    const one = queue[0]!.chars;
    const batch = takeBatch(queue, { maxEvents: 1000, maxChars: one * 2 + 1 });
    expect(batch).toHaveLength(2);
    expect(queue).toHaveLength(1);
  });

  it('sends a first delivery above the caps alone rather than never', () => {
    const queue = [delivery('a', 'b', 'c', 'd'), delivery('e')];
    expect(takeBatch(queue, { maxEvents: 2, maxChars: 10 })).toHaveLength(1);
    expect(takeBatch(queue, { maxEvents: 2, maxChars: 10 })).toHaveLength(1);
    expect(queue).toEqual([]);
    expect(takeBatch(queue, { maxEvents: 2, maxChars: 10 })).toEqual([]);
  });
});

describe('SignalBatcher', () => {
  it('sends at once when idle, queues behind the signal in flight, then sends the queue as ONE signal', async () => {
    const { send, calls } = controlledSend();
    const batcher = new SignalBatcher(send);
    const first = track(batcher.submit(target, [ref('1')]));
    await tick();
    expect(calls).toHaveLength(1);
    const queued = [track(batcher.submit(target, [ref('2')])), track(batcher.submit(target, [ref('3'), ref('4')])), track(batcher.submit(target, [ref('5')]))];
    await tick();
    expect(calls).toHaveLength(1);

    calls[0]!.succeed();
    await tick();
    expect(first.outcome).toBe('ok');
    // The queued ones are not acknowledged by the first signal: theirs is still in flight.
    expect(queued.map((q) => q.outcome)).toEqual(['pending', 'pending', 'pending']);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.notices.events.map((e) => e.eventId)).toEqual(['2', '3', '4', '5']);

    calls[1]!.succeed();
    await tick();
    expect(queued.map((q) => q.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(batcher.busyConnections).toBe(0);
  });

  it('rejects every delivery of a failed batch with its error, and only those', async () => {
    const { send, calls } = controlledSend();
    const batcher = new SignalBatcher(send);
    const first = track(batcher.submit(target, [ref('1')]));
    await tick();
    const batch = [track(batcher.submit(target, [ref('2')])), track(batcher.submit(target, [ref('3')]))];
    calls[0]!.succeed();
    await tick();
    const later = track(batcher.submit(target, [ref('4')]));
    calls[1]!.fail(new Error('temporal down'));
    await tick();
    expect(first.outcome).toBe('ok');
    expect(batch.map((q) => q.outcome)).toEqual(['temporal down', 'temporal down']);
    // What arrived while the failed signal was in flight gets its own attempt.
    expect(later.outcome).toBe('pending');
    expect(calls[2]!.notices.events.map((e) => e.eventId)).toEqual(['4']);
    calls[2]!.succeed();
    await tick();
    expect(later.outcome).toBe('ok');
  });

  it('treats a send that throws synchronously as a failed signal', async () => {
    const batcher = new SignalBatcher(() => {
      throw new Error('boom');
    });
    await expect(batcher.submit(target, [ref('1')])).rejects.toThrow('boom');
    expect(batcher.busyConnections).toBe(0);
  });

  it('splits a long queue into capped batches sent one after another', async () => {
    const { send, calls } = controlledSend();
    const batcher = new SignalBatcher(send, { maxEvents: 3 });
    const first = track(batcher.submit(target, [ref('0')]));
    await tick();
    const rest = Array.from({ length: 7 }, (_, i) => track(batcher.submit(target, [ref(String(i + 1))])));
    for (let round = 0; round < 4; round += 1) {
      calls[round]!.succeed();
      await tick();
    }
    expect(calls.map((call) => call.notices.events.map((e) => e.eventId))).toEqual([['0'], ['1', '2', '3'], ['4', '5', '6'], ['7']]);
    expect([first, ...rest].every((q) => q.outcome === 'ok')).toBe(true);
  });

  it('keeps connections apart: one signal in flight per connection workflow, not per shim', async () => {
    const { send, calls } = controlledSend();
    const batcher = new SignalBatcher(send);
    const a = track(batcher.submit({ tenantId: 't', connectionId: 'a' }, [ref('a1')]));
    const b = track(batcher.submit({ tenantId: 't', connectionId: 'b' }, [ref('b1')]));
    await tick();
    expect(calls.map((call) => call.target.connectionId)).toEqual(['a', 'b']);
    calls[1]!.succeed();
    await tick();
    expect([a.outcome, b.outcome]).toEqual(['pending', 'ok']);
    calls[0]!.succeed();
    await tick();
    expect(a.outcome).toBe('ok');
  });

  it('keeps duplicate event ids as they came (the workflow drops redeliveries by id)', async () => {
    const { send, calls } = controlledSend();
    const batcher = new SignalBatcher(send);
    void batcher.submit(target, [ref('x')]);
    await tick();
    void batcher.submit(target, [ref('y')]);
    void batcher.submit(target, [ref('y'), ref('z')]);
    calls[0]!.succeed();
    await tick();
    expect(calls[1]!.notices.events).toEqual([ref('y'), ref('y'), ref('z')]);
    calls[1]!.succeed();
  });
});
