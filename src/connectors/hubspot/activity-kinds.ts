import type { activityKinds } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import type { ConnectorMappingSpec } from '../../model/mapping';
import { HUBSPOT_OBJECTS, type HubSpotObjectPath } from './spec';

/**
 * HubSpot keeps each activity kind as its own CRM object [H55]: calls (0-48), emails (0-49),
 * meetings (0-47) and tasks (0-27). This module is the data that says which object a kind is,
 * how its ids are spelled outside HubSpot, and how canonical fields map onto its properties.
 */
export type ActivityKind = (typeof activityKinds)[number];

/** One HubSpot object a canonical type is read from and written to. */
export interface HubSpotTarget {
  objectType: ObjectType;
  path: HubSpotObjectPath;
  typeId: string;
  modstamp: string;
  /** Activities only: the kind this object holds. */
  kind?: ActivityKind | undefined;
}

export const ACTIVITY_TARGETS: Readonly<Record<ActivityKind, HubSpotTarget>> = {
  task: { objectType: 'activity', path: 'tasks', typeId: '0-27', modstamp: 'hs_lastmodifieddate', kind: 'task' },
  call: { objectType: 'activity', path: 'calls', typeId: '0-48', modstamp: 'hs_lastmodifieddate', kind: 'call' },
  email: { objectType: 'activity', path: 'emails', typeId: '0-49', modstamp: 'hs_lastmodifieddate', kind: 'email' },
  meeting: { objectType: 'activity', path: 'meetings', typeId: '0-47', modstamp: 'hs_lastmodifieddate', kind: 'meeting' },
};

/** Scan order of the activity objects: tasks first, the object every installed sync already reads. */
const ACTIVITY_ORDER: readonly ActivityKind[] = ['task', 'call', 'email', 'meeting'];

/** Every HubSpot object a canonical type lives in, in scan order. */
export function targetsOf(objectType: ObjectType): HubSpotTarget[] {
  return objectType === 'activity' ? ACTIVITY_ORDER.map((kind) => ACTIVITY_TARGETS[kind]) : [primaryTarget(objectType)];
}

/**
 * HubSpot does not document record ids as unique across object types [H56], so a call's id could
 * equal a task's. Calls, emails and meetings travel as `calls:123`; tasks keep the plain number
 * they always had, so the links installed systems stored still resolve.
 */
export function externalIdOf(target: HubSpotTarget, id: string): string {
  return target.kind === undefined || target.kind === 'task' ? id : `${target.path}:${id}`;
}

/** The object a type's records are matched on and, outside activities, the only one. */
export function primaryTarget(objectType: ObjectType): HubSpotTarget {
  if (objectType === 'activity') return ACTIVITY_TARGETS.task;
  const object = HUBSPOT_OBJECTS[objectType];
  return { objectType, path: object.path, typeId: object.typeId, modstamp: object.modstamp };
}

/** An external id -> the object it lives in and HubSpot's own id; undefined for a spelling no object has. */
export function parseExternalId(objectType: ObjectType, externalId: string): { target: HubSpotTarget; id: string } | undefined {
  if (objectType !== 'activity') return /^\d+$/.test(externalId) ? { target: primaryTarget(objectType), id: externalId } : undefined;
  const match = /^(?:(calls|emails|meetings):)?(\d+)$/.exec(externalId);
  if (!match) return undefined;
  const target = Object.values(ACTIVITY_TARGETS).find((candidate) => candidate.path === (match[1] ?? 'tasks')) ?? ACTIVITY_TARGETS.task;
  return { target, id: match[2] ?? externalId };
}

/** The object a create of this kind goes to: absent or null is a task (what every activity was before kinds). */
export function targetForKind(kind: unknown): HubSpotTarget {
  return typeof kind === 'string' && kind in ACTIVITY_TARGETS ? ACTIVITY_TARGETS[kind as ActivityKind] : ACTIVITY_TARGETS.task;
}

/**
 * Canonical activity fields -> each object's own properties [H57][H59][H60]. Tasks use the
 * connector's mapping (hubspotDefaultMapping plus the tenant's override); the other kinds use
 * these tables as they stand: an override names task properties, which calls, emails and meetings
 * do not have (BEHAVIOR.md). Statuses fold onto open/completed; only one value per canonical
 * status is written, the others are read-only entries.
 */
const CALL_STATUS_WRITES = { QUEUED: 'open', COMPLETED: 'completed' } as const;
const CALL_STATUS_READS = { ...CALL_STATUS_WRITES, CALLING_CRM_USER: 'open', CONNECTING: 'open', RINGING: 'open', IN_PROGRESS: 'open', BUSY: 'completed', CANCELED: 'completed', FAILED: 'completed', MISSED: 'completed', NO_ANSWER: 'completed' } as const;
const EMAIL_STATUS_WRITES = { SCHEDULED: 'open', SENT: 'completed' } as const;
const EMAIL_STATUS_READS = { ...EMAIL_STATUS_WRITES, SENDING: 'open', BOUNCED: 'completed', FAILED: 'completed' } as const;
const MEETING_OUTCOME_WRITES = { SCHEDULED: 'open', COMPLETED: 'completed' } as const;
const MEETING_OUTCOME_READS = { ...MEETING_OUTCOME_WRITES, RESCHEDULED: 'open', NO_SHOW: 'completed', CANCELED: 'completed' } as const;

const dueAt = { canonical: 'dueAt', native: 'hs_timestamp', type: 'datetime', format: 'datetime' } as const;

function kindMapping(nativeObject: string, fields: NonNullable<ConnectorMappingSpec['objects']['activity']>['fields']): ConnectorMappingSpec {
  // Every engagement object has hubspot_owner_id, as tasks do [H81].
  return { valueEncoding: 'strings', objects: { activity: { nativeObject, fields: [{ canonical: 'owner', native: 'hubspot_owner_id', type: 'owner' }, ...fields] } } };
}

export const KIND_MAPPINGS: Readonly<Record<Exclude<ActivityKind, 'task'>, ConnectorMappingSpec>> = {
  call: kindMapping('calls', [
    { canonical: 'subject', native: 'hs_call_title', type: 'string' },
    { canonical: 'description', native: 'hs_call_body', type: 'string' },
    dueAt,
    { canonical: 'status', native: 'hs_call_status', type: 'picklist', direction: 'read', values: CALL_STATUS_READS },
    { canonical: 'status', native: 'hs_call_status', type: 'picklist', direction: 'write', values: CALL_STATUS_WRITES },
  ]),
  email: kindMapping('emails', [
    { canonical: 'subject', native: 'hs_email_subject', type: 'string' },
    { canonical: 'description', native: 'hs_email_text', type: 'string' },
    dueAt,
    { canonical: 'status', native: 'hs_email_status', type: 'picklist', direction: 'read', values: EMAIL_STATUS_READS },
    { canonical: 'status', native: 'hs_email_status', type: 'picklist', direction: 'write', values: EMAIL_STATUS_WRITES },
  ]),
  meeting: kindMapping('meetings', [
    { canonical: 'subject', native: 'hs_meeting_title', type: 'string' },
    { canonical: 'description', native: 'hs_meeting_body', type: 'string' },
    dueAt,
    { canonical: 'status', native: 'hs_meeting_outcome', type: 'picklist', direction: 'read', values: MEETING_OUTCOME_READS },
    { canonical: 'status', native: 'hs_meeting_outcome', type: 'picklist', direction: 'write', values: MEETING_OUTCOME_WRITES },
  ]),
};

/** Canonical fields an object has no property for: left out of the write and said in `adjusted` (calls, emails and meetings carry no priority). */
export const UNHELD_FIELDS: Readonly<Record<ActivityKind, readonly string[]>> = { task: [], call: ['priority'], email: ['priority'], meeting: ['priority'] };

/**
 * Properties HubSpot requires or expects that no canonical field gives, derived from the ones
 * written [H58][H60][H61]:
 *  - a create without `hs_timestamp` (dueAt absent or null) gets the write time: every activity
 *    object refuses a create without it; the outcome says `dueAt` was adjusted;
 *  - a meeting's start follows `hs_timestamp` ("should match"), and a new meeting ends when it
 *    starts (the canonical model has no duration; an update leaves the end alone);
 *  - a new email is logged as sent from the CRM (`hs_email_direction` EMAIL).
 */
export function derivedProperties(kind: ActivityKind, properties: Readonly<Record<string, string>>, create: boolean, nowIso: string): { properties: Record<string, string>; timestampDerived: boolean } {
  const out: Record<string, string> = { ...properties };
  let timestampDerived = false;
  if (create && (out.hs_timestamp === undefined || out.hs_timestamp === '')) {
    out.hs_timestamp = nowIso;
    timestampDerived = true;
  }
  if (kind === 'meeting' && out.hs_timestamp !== undefined && out.hs_timestamp !== '') {
    out.hs_meeting_start_time = out.hs_timestamp;
    if (create) out.hs_meeting_end_time = out.hs_timestamp;
  }
  if (kind === 'email' && create) out.hs_email_direction = 'EMAIL';
  return { properties: out, timestampDerived };
}
