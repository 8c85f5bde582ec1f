import type { DeliveryOutcome, WebhookDispatcher } from '../core/webhook-dispatcher';
import type { SandboxCounters } from '../core/counters';
import type { IdGenerator } from './ids';
import { readFieldMs, type StoredRecord } from './records';
import type { SObjectType } from './schema';
import type { ChangeBatch } from './store';
import { buildOutboundEnvelope, type OutboundNotification } from './outbound-envelope';

/** Up to 100 notifications per SOAP message [S77]. */
export const MAX_NOTIFICATIONS_PER_MESSAGE = 100;
/** Messages not delivered within 24 hours are dropped from the queue [S78]. */
export const MESSAGE_LIFETIME_MS = 24 * 60 * 60_000;
/** The interval between retries grows exponentially up to two hours [S78]. */
export const MAX_RETRY_INTERVAL_MS = 2 * 60 * 60_000;
/** The first retry interval is not documented (UNCONFIRMED): 15 s, doubling. */
export const FIRST_RETRY_INTERVAL_MS = 15_000;

/** Salesforce's schedule: the n-th retry (1-based) waits 15 s * 2^(n-1), at most 2 h. */
export function defaultRetryIntervalMs(retry: number): number {
  return Math.min(FIRST_RETRY_INTERVAL_MS * 2 ** (retry - 1), MAX_RETRY_INTERVAL_MS);
}

/** One queued SOAP message, as Setup > Outbound Messages lists it. */
export interface QueuedOutboundMessage {
  /** Internal queue id (the Setup page's row), not sent. */
  id: string;
  sObjectType: SObjectType;
  notificationIds: string[];
  recordIds: string[];
  queuedAt: number;
  /** Attempts made so far. */
  attempts: number;
  /** On the sandbox clock; undefined while an attempt is in flight. */
  nextAttemptAt: number | undefined;
}

/** What a flush or retry did. */
export interface OutboundFlushResult {
  attempted: number;
  delivered: number;
  /** Messages still queued afterwards. */
  queued: number;
}

export interface OutboundMessageQueueOptions {
  /** One HTTP attempt per send (the queue owns retries): target URL, chaos and counters. */
  dispatcher: WebhookDispatcher;
  counters: SandboxCounters;
  ids: IdGenerator;
  organizationId: string;
  /** The sandbox's clock: queue age and due retries are measured on it, never on wall-clock time. */
  now: () => number;
  instanceUrl: () => string;
  apiVersion: string;
  /** The record as it is now (a notification carries the latest data, not the data at queue time [S80]). */
  lookup: (type: SObjectType, id: string) => StoredRecord | undefined;
  /** Objects with an Outbound Message on create and edit. */
  objects: readonly SObjectType[];
  /** Interval before the n-th retry (1-based), or undefined to give up. Default: Salesforce's, within 24 h. */
  retryIntervalMs?: (retry: number) => number | undefined;
  /**
   * Also retry due messages by themselves (a timer to the earliest due time on the sandbox
   * clock). Default true, as at Salesforce; tests that must not depend on elapsed time turn it
   * off and call `flushDue()` or `retryAll()`.
   */
  autoRetry?: boolean;
}

interface Entry {
  message: QueuedOutboundMessage;
  /** Bumped per attempt, so a late outcome of an earlier copy cannot reschedule a newer attempt. */
  attempt: number;
}

/**
 * Salesforce's Outbound Message queue: each committed create or edit of an object with an
 * Outbound Message becomes a Notification; one transaction's notifications of one object go out
 * as SOAP messages of at most 100. A message is resent, with exponential backoff, until the
 * endpoint answers `Ack` true or it is 24 hours old [S78]; each message may arrive more than once
 * (the dispatcher's duplicate chaos, or a retry after a lost ack). Deletes and undeletes send
 * nothing: workflow rules evaluate on create and edit [S81].
 */
export class OutboundMessageQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly actionIds = new Map<SObjectType, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private sequence = 0;

  constructor(private readonly options: OutboundMessageQueueOptions) {
    for (const type of options.objects) this.actionIds.set(type, options.ids.generate('04k'));
  }

  /** The commit hook: queues and sends this transaction's notifications. */
  readonly onCommit = (batch: ChangeBatch): void => {
    if (!this.options.dispatcher.target() || this.stopped) return;
    const byType = new Map<SObjectType, string[]>();
    for (const event of batch.events) {
      if (event.changeType !== 'CREATE' && event.changeType !== 'UPDATE') continue;
      if (!this.actionIds.has(event.entityName)) continue;
      const ids = byType.get(event.entityName) ?? [];
      ids.push(event.recordId);
      byType.set(event.entityName, ids);
    }
    for (const [sObjectType, recordIds] of byType) {
      for (let start = 0; start < recordIds.length; start += MAX_NOTIFICATIONS_PER_MESSAGE) {
        const chunk = recordIds.slice(start, start + MAX_NOTIFICATIONS_PER_MESSAGE);
        this.sequence += 1;
        const message: QueuedOutboundMessage = {
          id: `om-${this.sequence}`,
          sObjectType,
          notificationIds: chunk.map(() => this.options.ids.generate('04l')),
          recordIds: chunk,
          queuedAt: this.options.now(),
          attempts: 0,
          nextAttemptAt: undefined,
        };
        this.entries.set(message.id, { message, attempt: 0 });
        void this.send(message.id);
      }
    }
  };

  /** The queue as Setup > Monitoring > Outbound Messages shows it. */
  list(): QueuedOutboundMessage[] {
    return [...this.entries.values()].map(({ message }) => ({ ...message, notificationIds: [...message.notificationIds], recordIds: [...message.recordIds] }));
  }

  /** Sends every waiting message whose next attempt is due on the sandbox clock. */
  flushDue(): Promise<OutboundFlushResult> {
    const now = this.options.now();
    return this.sendAll((message) => message.nextAttemptAt !== undefined && message.nextAttemptAt <= now);
  }

  /** Sends every waiting message now, as the Setup page's "Retry" does. */
  retryAll(): Promise<OutboundFlushResult> {
    return this.sendAll((message) => message.nextAttemptAt !== undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async sendAll(due: (message: QueuedOutboundMessage) => boolean): Promise<OutboundFlushResult> {
    const ids = [...this.entries.values()].filter(({ message }) => due(message)).map(({ message }) => message.id);
    const outcomes = await Promise.all(ids.map((id) => this.send(id)));
    return { attempted: ids.length, delivered: outcomes.filter((outcome) => outcome === 'delivered').length, queued: this.entries.size };
  }

  /** One attempt; resolves with the outcome of its first copy once the queue has acted on it. */
  private send(id: string): Promise<DeliveryOutcome | undefined> {
    const entry = this.entries.get(id);
    if (!entry || this.stopped || !this.options.dispatcher.target()) return Promise.resolve(undefined);
    entry.attempt += 1;
    entry.message.nextAttemptAt = undefined;
    const attempt = entry.attempt;
    return new Promise((resolve) => {
      let first = true;
      this.options.dispatcher.enqueue(
        () => ({
          body: this.envelope(entry.message),
          headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
        }),
        (outcome) => {
          this.settle(id, attempt, outcome);
          if (first) resolve(outcome);
          first = false;
        },
      );
      // No target any more (turned off meanwhile): the dispatcher sends nothing and settles nothing.
      if (!this.options.dispatcher.target()) resolve(undefined);
    });
  }

  private settle(id: string, attempt: number, outcome: DeliveryOutcome): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (outcome !== 'failed') {
      // Acked (by any copy), or lost to chaos: either way it leaves the queue.
      this.entries.delete(id);
      return;
    }
    if (attempt !== entry.attempt) return;
    const { message } = entry;
    message.attempts += 1;
    const interval = (this.options.retryIntervalMs ?? defaultRetryIntervalMs)(message.attempts);
    const next = interval === undefined ? undefined : this.options.now() + interval;
    if (next === undefined || next - message.queuedAt > MESSAGE_LIFETIME_MS) {
      this.entries.delete(id);
      this.options.counters.webhooks.dropped += 1;
      return;
    }
    message.nextAttemptAt = next;
    this.armTimer();
  }

  private armTimer(): void {
    if (this.options.autoRetry === false || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const due = [...this.entries.values()].map(({ message }) => message.nextAttemptAt).filter((at): at is number => at !== undefined);
    if (due.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flushDue().then(() => this.armTimer());
    }, Math.max(0, Math.min(...due) - this.options.now()));
    this.timer.unref();
  }

  private envelope(message: QueuedOutboundMessage): string {
    const instanceUrl = this.options.instanceUrl();
    const org15 = this.options.organizationId.slice(0, 15);
    const notifications: OutboundNotification[] = message.recordIds.map((recordId, index) => ({
      id: message.notificationIds[index]!,
      sObjectType: message.sObjectType,
      fields: this.fieldsOf(message.sObjectType, recordId),
    }));
    return buildOutboundEnvelope({
      organizationId: this.options.organizationId,
      actionId: this.actionIds.get(message.sObjectType)!,
      enterpriseUrl: `${instanceUrl}/services/Soap/c/${this.options.apiVersion}/${org15}`,
      partnerUrl: `${instanceUrl}/services/Soap/u/${this.options.apiVersion}/${org15}`,
      notifications,
    });
  }

  /** The fields chosen for the message (Id, LastModifiedDate), read at send time. */
  private fieldsOf(type: SObjectType, id: string): Record<string, string> {
    const record = this.options.lookup(type, id);
    if (!record || record.deletedMs !== undefined) return { Id: id };
    const modified = readFieldMs(record, 'LastModifiedDate');
    return { Id: id, ...(modified === undefined ? {} : { LastModifiedDate: new Date(modified).toISOString() }) };
  }
}
