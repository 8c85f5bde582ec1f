import type { ChangeRef } from '../model/sync';
import { syncWorkflowId, type SignalConnection, type SignalTarget } from './signal';

/**
 * Every signalWithStart is a history write and a workflow task on the connection's one
 * execution, so at hundreds of deliveries per second the Temporal server, not the shim, is the
 * ceiling. Deliveries to one connection that arrive while its signal is in flight therefore wait
 * and go together as the next signal: the batch size follows the load, and an idle connection
 * still pays one round trip (no timer).
 */
export interface SignalBatchLimits {
  /** Most events in one signal. Default 500. */
  maxEvents: number;
  /**
   * Most JSON characters of events in one signal. Default 256 Ki: at most 768 KiB of UTF-8 even
   * for non-ASCII ids, well under Temporal's 2 MB payload limit after the encrypting codec's
   * few dozen bytes of envelope.
   */
  maxChars: number;
}

export const DEFAULT_SIGNAL_BATCH_LIMITS: SignalBatchLimits = { maxEvents: 500, maxChars: 256 * 1024 };

/** One delivery's notices waiting for a signal. */
export interface PendingDelivery {
  events: readonly ChangeRef[];
  /** JSON size of `events`, counted once when queued. */
  chars: number;
}

/**
 * Removes from the front of `queue` the deliveries of the next signal and returns them: whole
 * deliveries, in arrival order, as many as fit the limits. A delivery never splits, so its answer
 * depends on one signal; the first one always goes, even alone above the limits (the body limit
 * bounds it, as it bounded one signal per delivery before).
 */
export function takeBatch<T extends PendingDelivery>(queue: T[], limits: SignalBatchLimits): T[] {
  let events = 0;
  let chars = 0;
  let count = 0;
  for (const delivery of queue) {
    const nextEvents = events + delivery.events.length;
    const nextChars = chars + delivery.chars;
    if (count > 0 && (nextEvents > limits.maxEvents || nextChars > limits.maxChars)) break;
    events = nextEvents;
    chars = nextChars;
    count += 1;
  }
  return queue.splice(0, count);
}

interface Waiting extends PendingDelivery {
  resolve(): void;
  reject(error: unknown): void;
}

interface ConnectionLane {
  target: SignalTarget;
  queue: Waiting[];
  inFlight: boolean;
}

/**
 * Wraps `send` so that at most one signal per connection workflow is in flight. The promise a
 * delivery gets settles with the signal that carried its events: resolved once Temporal accepted
 * it (the notices are in history), rejected with that signal's error otherwise, for every delivery
 * of the batch alike. A failed batch is not retried here: its senders got an error (503) and
 * redeliver; deliveries queued behind it go in the next signal on their own merits. A delivery
 * thus waits at most for the signal ahead of it plus its own (each bounded by the signal's
 * deadline, 3 s by default).
 */
export class SignalBatcher {
  private readonly lanes = new Map<string, ConnectionLane>();
  private readonly limits: SignalBatchLimits;

  constructor(
    private readonly send: SignalConnection,
    limits: Partial<SignalBatchLimits> = {},
  ) {
    this.limits = { ...DEFAULT_SIGNAL_BATCH_LIMITS, ...limits };
    if (!(this.limits.maxEvents >= 1) || !(this.limits.maxChars >= 1)) throw new Error('signal batch limits must be at least 1');
  }

  /** Resolves once a signal carrying `events` was accepted; rejects with the error of the signal that failed. */
  submit(target: SignalTarget, events: readonly ChangeRef[]): Promise<void> {
    const key = syncWorkflowId(target);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { target, queue: [], inFlight: false };
      this.lanes.set(key, lane);
    }
    const settled = new Promise<void>((resolve, reject) => {
      lane.queue.push({ events, chars: JSON.stringify(events).length, resolve, reject });
    });
    if (!lane.inFlight) void this.drain(key, lane);
    return settled;
  }

  /** Connections with a signal in flight or deliveries waiting (for tests and shutdown checks). */
  get busyConnections(): number {
    return this.lanes.size;
  }

  private async drain(key: string, lane: ConnectionLane): Promise<void> {
    lane.inFlight = true;
    while (lane.queue.length > 0) {
      const batch = takeBatch(lane.queue, this.limits);
      const events = batch.length === 1 ? [...batch[0]!.events] : batch.flatMap((delivery) => delivery.events);
      try {
        await this.send(lane.target, { events });
        for (const delivery of batch) delivery.resolve();
      } catch (error) {
        for (const delivery of batch) delivery.reject(error);
      }
    }
    lane.inFlight = false;
    this.lanes.delete(key);
  }
}
