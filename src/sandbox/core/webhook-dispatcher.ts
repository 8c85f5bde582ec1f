import type { SandboxCounters } from './counters';
import { SeededRandom } from './random';

/** At-least-once delivery, as the vendors behave: copies, reordering and losses on demand. */
export interface WebhookChaos {
  /** Probability that a delivery is sent twice. */
  duplicateRate?: number;
  /** Probability that a delivery is silently lost (never sent, never retried). */
  dropRate?: number;
  /** Each delivery waits a random 0..N ms before sending, so deliveries overtake each other. */
  reorderJitterMs?: number;
  seed?: number;
}

export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
  /** Where this attempt goes, when the vendor derives it from the target (Dataverse's `?code=` key). */
  url?: string;
}

/**
 * Builds one delivery attempt. Called per attempt because vendors re-sign retries (HubSpot's
 * timestamp and attemptNumber change) and need the target URL for the signature.
 */
export type BuildWebhookRequest = (context: { attempt: number; url: string }) => WebhookRequest;

export interface WebhookDispatcherOptions {
  counters: SandboxCounters;
  /** Delays between attempts after a non-2xx or network failure; its length caps the retries. */
  retryDelaysMs?: number[];
  /** How long one attempt may take before it counts as failed (HubSpot: 5 s, Dynamics: 60 s). */
  timeoutMs?: number;
  chaos?: WebhookChaos;
  /**
   * Whether an answer acknowledges the delivery. Default: any 2xx. Salesforce Outbound Messages
   * count as delivered only on a SOAP `Ack` of true, whatever the status.
   */
  isAcknowledged?: (answer: { status: number; body: string }) => boolean;
}

/** How one copy of a delivery ended: acknowledged, given up after its last attempt, or lost to chaos (never sent). */
export type DeliveryOutcome = 'delivered' | 'failed' | 'dropped';

export class WebhookDispatcher {
  private url: string | undefined;
  private chaos: WebhookChaos;
  private random: SeededRandom;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.chaos = options.chaos ?? {};
    this.random = new SeededRandom(this.chaos.seed ?? 1);
  }

  /** Where change notifications go; undefined turns webhooks off. */
  setTarget(url: string | undefined): void {
    this.url = url;
  }

  target(): string | undefined {
    return this.url;
  }

  setChaos(chaos: WebhookChaos): void {
    this.chaos = chaos;
    this.random = new SeededRandom(chaos.seed ?? 1);
  }

  /**
   * Queues a notification; returns at once (delivery is asynchronous, as at the vendor).
   * `settled` hears how each copy ended.
   */
  enqueue(build: BuildWebhookRequest, settled?: (outcome: DeliveryOutcome) => void): void {
    if (this.url) this.enqueueTo(this.url, build, settled);
  }

  /**
   * Queues a notification to a URL of its own rather than the target: where the vendor keeps
   * many registered endpoints (Dataverse service endpoints), each delivery names its own.
   */
  enqueueTo(url: string, build: BuildWebhookRequest, settled?: (outcome: DeliveryOutcome) => void): void {
    if (this.stopped) return;
    if (this.random.chance(this.chaos.dropRate ?? 0)) {
      this.options.counters.webhooks.dropped += 1;
      settled?.('dropped');
      return;
    }
    const copies = this.random.chance(this.chaos.duplicateRate ?? 0) ? 2 : 1;
    if (copies === 2) this.options.counters.webhooks.duplicated += 1;
    for (let copy = 0; copy < copies; copy += 1) {
      const jitter = this.chaos.reorderJitterMs ? this.random.next() * this.chaos.reorderJitterMs : 0;
      const delivery = this.deliver(url, build, jitter)
        .then((outcome) => settled?.(outcome))
        .finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  /** Resolves when every queued delivery has succeeded or given up (tests wait on this). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private async deliver(url: string, build: BuildWebhookRequest, initialDelayMs: number): Promise<DeliveryOutcome> {
    const delays = this.options.retryDelaysMs ?? [1000, 5000, 30_000];
    if (initialDelayMs > 0) await sleep(initialDelayMs);
    for (let attempt = 0; attempt <= delays.length; attempt += 1) {
      if (this.stopped && attempt > 0) return 'failed';
      const request = build({ attempt, url });
      try {
        const response = await fetch(request.url ?? url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
        });
        const answer = { status: response.status, body: await response.text() };
        if (this.options.isAcknowledged ? this.options.isAcknowledged(answer) : response.ok) {
          this.options.counters.webhooks.delivered += 1;
          return 'delivered';
        }
      } catch {
        // Refused, reset or timed out: the vendor retries just the same.
      }
      this.options.counters.webhooks.failedAttempts += 1;
      const delay = delays[attempt];
      if (delay === undefined) return 'failed';
      await sleep(delay);
    }
    return 'failed';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
