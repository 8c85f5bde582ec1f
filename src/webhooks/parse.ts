import type { ChangeRef } from '../model/sync';

/** What a provider's parser makes of one verified delivery. */
export interface ParsedDelivery {
  events: ChangeRef[];
  /** Short descriptions of events the sync does not handle (type names only, no record values). */
  unsupported: string[];
}

/** Parses the decoded body (JSON; Salesforce: the SOAP document) of a verified delivery; throws a WebhookError (400) on a wrong shape. */
export type DeliveryParser = (body: unknown, context: { headers: Readonly<Record<string, string | string[] | undefined>> }) => ParsedDelivery;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isoFromMs(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value).toISOString() : undefined;
}
