import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { crmRead, storeCall } from '../activity-options';
import type { WebhookRenewalCarried } from './webhook-renewal-state';

const store = proxyActivities<Activities>(storeCall);
const vendor = proxyActivities<Activities>(crmRead);

/** Renew this long before a subscription lapses at most (a week-long Zoho channel: an hour before). */
const MAX_LEAD_MS = 60 * 60_000;
/** After a failed renewal (past its retries), try again this soon; the poll covers changes meanwhile. */
const RETRY_MS = 60_000;


/**
 * Subscriptions that lapse (Zoho's channel_expiry) are renewed by the connection workflow's own
 * timer: the run knows when they lapse, carries it across continue-as-new, and renews halfway to
 * the expiry (at most an hour before it) through an activity. Disabled for runs from before the
 * `webhook-renewal` patch, which replay as they ran.
 */
export class WebhookRenewal {
  private expiresAt: number | null;
  private renewAt: number | null;
  private renewals: number;
  private lastError: string | null;

  private constructor(
    private readonly connectionId: string,
    private readonly enabled: boolean,
    carried: WebhookRenewalCarried | undefined,
  ) {
    this.expiresAt = carried?.expiresAt ? Date.parse(carried.expiresAt) : null;
    this.renewAt = carried?.renewAt ? Date.parse(carried.renewAt) : null;
    this.renewals = carried?.renewals ?? 0;
    this.lastError = carried?.lastError ?? null;
  }

  /** A run continued as new takes what was carried; a first run asks PostgreSQL what lapses when. */
  static async start(connectionId: string, enabled: boolean, carried: WebhookRenewalCarried | undefined): Promise<WebhookRenewal> {
    const renewal = new WebhookRenewal(connectionId, enabled, carried);
    if (enabled && carried === undefined) await renewal.learn();
    return renewal;
  }

  /** When the main loop must wake for a renewal (workflow time); Infinity when none is due. */
  dueAt(): number {
    return this.enabled && this.renewAt !== null ? this.renewAt : Infinity;
  }

  /** Subscriptions may have changed (`connection subscribe` signals configChanged): ask again. */
  async onConfigReloaded(): Promise<void> {
    if (this.enabled) await this.learn();
  }

  async renewIfDue(): Promise<void> {
    if (!this.enabled || this.renewAt === null || Date.now() < this.renewAt) return;
    const leadMs = this.expiresAt === null ? 0 : Math.max(0, this.expiresAt - this.renewAt);
    try {
      const result = await vendor.renewWebhookSubscriptions({ connectionId: this.connectionId, renewBefore: new Date(Date.now() + leadMs).toISOString() });
      this.renewals += result.renewed;
      this.lastError = null;
      this.schedule(result.earliestExpiry);
    } catch (error) {
      // A renewal that keeps failing must not end the run: the poll carries changes while webhooks lapse.
      this.lastError = error instanceof Error ? error.message : String(error);
      this.renewAt = Date.now() + RETRY_MS;
    }
  }

  carry(): { webhookRenewal?: WebhookRenewalCarried } {
    if (!this.enabled) return {};
    const iso = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());
    return { webhookRenewal: { expiresAt: iso(this.expiresAt), renewAt: iso(this.renewAt), renewals: this.renewals, lastError: this.lastError } };
  }

  private async learn(): Promise<void> {
    try {
      this.schedule((await store.webhookExpiry({ connectionId: this.connectionId })).earliestExpiry);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.renewAt = Date.now() + RETRY_MS;
    }
  }

  private schedule(expiresAt: string | null): void {
    this.expiresAt = expiresAt === null ? null : Date.parse(expiresAt);
    if (this.expiresAt === null) {
      this.renewAt = null;
      return;
    }
    const now = Date.now();
    this.renewAt = this.expiresAt - Math.min(MAX_LEAD_MS, Math.max(0, (this.expiresAt - now) / 2));
  }
}
