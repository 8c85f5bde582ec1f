/** What a sandbox reports about itself: requests by endpoint, refusals, webhook deliveries. */
export interface CountersSnapshot {
  requests: Record<string, number>;
  /** Writes (creates, updates, upserts, deletes) by object type, counted per record. */
  recordWrites: Record<string, number>;
  rateLimited: number;
  injectedFaults: number;
  webhooks: { delivered: number; failedAttempts: number; dropped: number; duplicated: number };
}

export class SandboxCounters {
  private requests = new Map<string, number>();
  private recordWrites = new Map<string, number>();
  rateLimited = 0;
  injectedFaults = 0;
  readonly webhooks = { delivered: 0, failedAttempts: 0, dropped: 0, duplicated: 0 };

  /** `endpoint` is the method and route pattern, e.g. "PATCH /services/data/:version/sobjects/:type/:field/:value". */
  countRequest(endpoint: string): void {
    this.requests.set(endpoint, (this.requests.get(endpoint) ?? 0) + 1);
  }

  countRecordWrites(objectType: string, count = 1): void {
    this.recordWrites.set(objectType, (this.recordWrites.get(objectType) ?? 0) + count);
  }

  snapshot(): CountersSnapshot {
    return {
      requests: Object.fromEntries(this.requests),
      recordWrites: Object.fromEntries(this.recordWrites),
      rateLimited: this.rateLimited,
      injectedFaults: this.injectedFaults,
      webhooks: { ...this.webhooks },
    };
  }

  reset(): void {
    this.requests.clear();
    this.recordWrites.clear();
    this.rateLimited = 0;
    this.injectedFaults = 0;
    Object.assign(this.webhooks, { delivered: 0, failedAttempts: 0, dropped: 0, duplicated: 0 });
  }
}
