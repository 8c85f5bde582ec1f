import type { SandboxCounters } from './counters';
import type { FaultConfig, FaultInjector } from './faults';
import type { WebhookChaos, WebhookDispatcher } from './webhook-dispatcher';

export type SandboxName = 'salesforce' | 'hubspot' | 'dynamics' | 'pipedrive' | 'zoho';

/** Options every sandbox accepts; vendors extend them with their own limits and settings. */
export interface CommonSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  faults?: FaultConfig;
  webhooks?: { url?: string; chaos?: WebhookChaos; retryDelaysMs?: number[] };
  /** Records to create at start-up, per object type, with realistic fake data. */
  seed?: Partial<Record<'contacts' | 'companies' | 'deals' | 'activities', number>>;
  /** Seed for the fake data, so seeded records are reproducible. */
  dataSeed?: number;
  /**
   * The vendor's clock (epoch ms), one for everything the vendor stamps or times: record
   * modstamps (core ModstampClock, still strictly advancing), the `Date` header of every answer,
   * token lifetimes, rate windows and retention. Default `Date.now`. Tests set it to put writes
   * in the seconds they need instead of waiting for wall-clock seconds to pass.
   */
  now?: () => number;
}

/** A running sandbox: its base URL, the credentials it accepts, and its knobs. */
export interface SandboxHandle {
  name: SandboxName;
  url: string;
  /** What a client needs to authenticate against this sandbox (printed by `npm run sandbox`). */
  credentials: Record<string, string>;
  counters: SandboxCounters;
  faults: FaultInjector;
  webhooks: WebhookDispatcher;
  stop(): Promise<void>;
}
