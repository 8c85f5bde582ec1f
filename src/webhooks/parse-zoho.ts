import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { invalidPayload } from './errors';
import { isRecord, isoFromMs, type DeliveryParser } from './parse';

const MODULES: Record<string, ObjectType> = { Contacts: 'contact', Accounts: 'company', Deals: 'deal', Tasks: 'activity', Calls: 'activity', Events: 'activity' };
/** Calls and meetings are activities whose ids the connector spells `Calls:<id>` / `Events:<id>`; task ids stay plain. */
const ID_PREFIX: Record<string, string> = { Calls: 'Calls:', Events: 'Events:' };
const OPERATIONS: Record<string, boolean> = { insert: false, update: false, delete: true };

/**
 * One callback per write call: `{ module, operation, ids[], server_time, channel_id, token, ... }`
 * [Z12] (field names other than `token` and `channel_id` UNCONFIRMED). No modstamp per record:
 * `server_time` stands for it; the event id is channel + server time + operation, so a redelivered
 * callback is recognised and a new one is not.
 */
export const parseZoho: DeliveryParser = (body) => {
  if (!isRecord(body) || typeof body.module !== 'string' || typeof body.operation !== 'string' || !Array.isArray(body.ids)) {
    throw invalidPayload('Expected a Zoho notification with module, operation and ids.');
  }
  const objectType = MODULES[body.module];
  const deleted = OPERATIONS[body.operation];
  if (objectType === undefined || deleted === undefined) return { events: [], unsupported: [`${body.module}.${body.operation}`] };
  const modifiedAt = isoFromMs(body.server_time);
  const scalar = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');
  const base = `${scalar(body.channel_id)}:${scalar(body.server_time)}:${body.operation}`;
  const events: ChangeRef[] = body.ids.map((id) => {
    if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '') throw invalidPayload('Every id must be a record id.');
    return { objectType, externalId: `${ID_PREFIX[body.module as string] ?? ''}${String(id)}`, eventId: `${base}:${String(id)}`, modifiedAt, ...(deleted ? { deleted: true } : {}) };
  });
  return { events, unsupported: [] };
};
