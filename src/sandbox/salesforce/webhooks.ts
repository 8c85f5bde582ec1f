import { createHmac, randomUUID } from 'node:crypto';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import type { FieldValue } from './records';
import type { ChangeBatch, ChangeOrigin, ChangeType } from './store';

/** One change, modelled on the CDC ChangeEventHeader [S41][S42]. */
export interface SalesforceWebhookEvent {
  eventId: string;
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  changedFields: string[];
  /** `com/salesforce/api/rest/62.0;client=<id>` for API writes; empty for UI edits. */
  changeOrigin: string;
  commitTimestamp: number;
  commitUser: string;
  commitNumber: number;
  transactionKey: string;
  sequenceNumber: number;
  /** New values of the changed fields (CDC sends them next to the header). */
  fields: Record<string, FieldValue>;
}

/** The callout body, as an Apex trigger on the four objects would POST it. */
export interface SalesforceWebhookPayload {
  organizationId: string;
  /** 0 on the first attempt; retries re-sign the body with the new attempt and time. */
  deliveryAttempt: number;
  /** Same value as the X-Sfdc-Timestamp header, inside the signed body. */
  sentAt: number;
  events: SalesforceWebhookEvent[];
}

export const SIGNATURE_HEADER = 'x-sfdc-signature';
export const TIMESTAMP_HEADER = 'x-sfdc-timestamp';

/** base64(HMAC-SHA256(secret, raw body)). */
export function signWebhookBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

export function changeOrigin(origin: ChangeOrigin): string {
  if (origin.kind === 'ui') return '';
  const api = origin.kind === 'bulk' ? 'bulkapi' : 'rest';
  return `com/salesforce/api/${api}/${origin.apiVersion ?? ''}${origin.client ? `;client=${origin.client}` : ''}`;
}

/** Turns each committed transaction into one signed callout through the shared dispatcher. */
export function createWebhookNotifier(dispatcher: WebhookDispatcher, secret: () => string, organizationId: string): (batch: ChangeBatch) => void {
  let commitNumber = 0;
  return (batch) => {
    // Nothing to build when no endpoint is configured (the benchmark's case).
    if (!dispatcher.target()) return;
    commitNumber += 1;
    const transactionKey = randomUUID();
    const events: SalesforceWebhookEvent[] = batch.events.map((event, index) => ({
      eventId: randomUUID(),
      entityName: event.entityName,
      recordIds: [event.recordId],
      changeType: event.changeType,
      changedFields: event.changedFields,
      changeOrigin: changeOrigin(batch.origin),
      commitTimestamp: event.commitTimestamp,
      commitUser: batch.origin.userId,
      commitNumber,
      transactionKey,
      sequenceNumber: index + 1,
      fields: event.values,
    }));
    dispatcher.enqueue(({ attempt }) => {
      const sentAt = Date.now();
      const payload: SalesforceWebhookPayload = { organizationId, deliveryAttempt: attempt, sentAt, events };
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhookBody(secret(), body),
          [TIMESTAMP_HEADER]: String(sentAt),
        },
      };
    });
  };
}
