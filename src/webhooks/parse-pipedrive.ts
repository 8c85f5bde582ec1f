import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { invalidPayload } from './errors';
import { isRecord, type DeliveryParser } from './parse';

const ENTITIES: Record<string, ObjectType> = { person: 'contact', organization: 'company', deal: 'deal', activity: 'activity' };
const ACTIONS = new Set(['create', 'change', 'delete']);

/**
 * One webhooks v2 delivery: `{ meta: { action, entity, entity_id, id, timestamp, version }, data, previous }`
 * [P4]. `meta.id` is the event id (redeliveries repeat it); a delete has `data: null`. The record's
 * `update_time` (when `data` carries it) is the modstamp; else `meta.timestamp`.
 */
export const parsePipedrive: DeliveryParser = (body) => {
  if (!isRecord(body) || !isRecord(body.meta)) throw invalidPayload('Expected a Pipedrive webhook v2 body with meta.');
  const { meta } = body;
  if (meta.version !== undefined && meta.version !== '2.0') throw invalidPayload('Only Pipedrive webhooks v2 (meta.version "2.0") are accepted.');
  if (typeof meta.action !== 'string' || typeof meta.entity !== 'string') throw invalidPayload('meta needs action and entity.');
  const objectType = ENTITIES[meta.entity];
  if (objectType === undefined || !ACTIONS.has(meta.action)) return { events: [], unsupported: [`${meta.entity}.${meta.action}`] };
  const entityId = meta.entity_id ?? (isRecord(body.data) ? body.data.id : undefined);
  if ((typeof entityId !== 'string' && typeof entityId !== 'number') || String(entityId) === '') throw invalidPayload('meta needs entity_id.');
  if (typeof meta.id !== 'string' && typeof meta.id !== 'number') throw invalidPayload('meta needs an event id.');
  const event: ChangeRef = { objectType, externalId: String(entityId), eventId: String(meta.id), modifiedAt: modstampOf(body.data, meta.timestamp) };
  if (meta.action === 'delete') event.deleted = true;
  return { events: [event], unsupported: [] };
};

function modstampOf(data: unknown, timestamp: unknown): string | undefined {
  const raw = isRecord(data) && typeof data.update_time === 'string' ? data.update_time : typeof timestamp === 'string' ? timestamp : undefined;
  const ms = raw === undefined ? NaN : Date.parse(raw);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
