import type { CanonicalFields, References } from '../../model/canonical';
import { compileMapping, type CompiledMapping, type ConnectorMappingSpec } from '../../model/mapping';

/**
 * A canonical activity is a record of one of three Zoho modules [Z24][Z29]: Tasks, Calls or
 * Events (Meetings). The module is the kind; there is no email module to create into [Z28].
 * Everything here is data and pure functions; the calls that use them are in activities.ts.
 */

export const ACTIVITY_MODULES = ['Tasks', 'Calls', 'Events'] as const;
export type ActivityModule = (typeof ACTIVITY_MODULES)[number];
export type ActivityKind = 'call' | 'email' | 'meeting' | 'task';

export const KIND_OF_MODULE: Readonly<Record<ActivityModule, ActivityKind>> = { Tasks: 'task', Calls: 'call', Events: 'meeting' };

/** Where a create of this kind goes; absent, null and email are Tasks (no email module [Z28]). */
export function moduleOfKind(kind: unknown): ActivityModule {
  if (kind === 'call') return 'Calls';
  if (kind === 'meeting') return 'Events';
  return 'Tasks';
}

/**
 * Whether record ids are unique across modules is not documented [Z24], so a Call's or an Event's
 * id carries its module; a task's stays plain, so links made before kinds existed still resolve.
 */
export function externalIdOf(module: ActivityModule, id: string): string {
  return module === 'Tasks' ? id : `${module}:${id}`;
}

export function parseActivityId(externalId: string): { module: ActivityModule; id: string } | undefined {
  const match = /^(?:(Calls|Events):)?(\d+)$/.exec(externalId);
  if (!match) return undefined;
  return { module: (match[1] as ActivityModule | undefined) ?? 'Tasks', id: match[2] as string };
}

/**
 * Calls' and Events' fields per canonical field [Z26][Z27]. Neither has a Status or Priority like a
 * task's, so a call or a meeting reads neither (absent: not read) and a write of them is left out
 * and said. Custom fields are per module in Zoho, so a tenant's Tasks override does not apply here.
 */
const CALLS_MAPPING: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    activity: {
      nativeObject: 'Calls',
      fields: [
        { canonical: 'subject', native: 'Subject', type: 'string' },
        { canonical: 'description', native: 'Description', type: 'string' },
        { canonical: 'dueAt', native: 'Call_Start_Time', type: 'datetime' },
        { canonical: 'owner', native: 'Owner', type: 'owner', ownerFormat: 'object' },
      ],
    },
  },
};

const EVENTS_MAPPING: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    activity: {
      nativeObject: 'Events',
      fields: [
        { canonical: 'subject', native: 'Event_Title', type: 'string' },
        { canonical: 'description', native: 'Description', type: 'string' },
        { canonical: 'dueAt', native: 'Start_DateTime', type: 'datetime' },
        { canonical: 'owner', native: 'Owner', type: 'owner', ownerFormat: 'object' },
      ],
    },
  },
};

const byConnectionMapping = new WeakMap<CompiledMapping, Record<'Calls' | 'Events', CompiledMapping>>();

/**
 * The mapping a module's rows are read and written with: Tasks the connection's own; calls and
 * meetings their fixed fields, with the connection's owner map (owners are the connection's).
 */
export function moduleMapping(connection: CompiledMapping, module: ActivityModule): CompiledMapping {
  if (module === 'Tasks') return connection;
  let compiled = byConnectionMapping.get(connection);
  if (!compiled) {
    const owners = connection.owners ? { owners: connection.owners } : undefined;
    compiled = { Calls: compileMapping(CALLS_MAPPING, owners), Events: compileMapping(EVENTS_MAPPING, owners) };
    byConnectionMapping.set(connection, compiled);
  }
  return compiled[module];
}

/** Canonical fields a call or a meeting cannot hold. */
const UNHELD: Readonly<Record<ActivityModule, readonly string[]>> = { Tasks: [], Calls: ['status', 'priority'], Events: ['status', 'priority'] };

/** A task's Due_Date is a date [Z30]: read as midnight UTC, written as the UTC day. */
export const TASK_DUE_FIELD = 'Due_Date';

export function dueDateToDueAt(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  return `${value}T00:00:00.000Z`;
}

/** A meeting created here lasts this long: Events need an end [Z27], canonical activities carry none. */
export const DEFAULT_MEETING_MS = 30 * 60_000;

/** A call created here is outbound: Call_Type is mandatory [Z26] and canonical activities carry no direction. */
export const DEFAULT_CALL_TYPE = 'Outbound';

/** Zoho stamps datetimes to the second [Z7]. */
export function toWholeSecond(iso: string): string {
  const epoch = Date.parse(iso);
  return Number.isNaN(epoch) ? iso : new Date(Math.floor(epoch / 1000) * 1000).toISOString();
}

export interface ActivityWritePlan {
  module: ActivityModule;
  /** The fields as they will stand (kind as the module holds it). */
  fields: CanonicalFields;
  /** Canonical fields and slots not written as asked. */
  adjusted: string[];
}

/**
 * Where one activity write goes and what of it the module holds. A create goes to its kind's
 * module; an update stays on its record's module (a kind is the module: it cannot change). A kind
 * the module does not hold, fields a call or meeting does not have, a task's due time and a start
 * cut to the second are said in `adjusted`.
 */
export function planActivityWrite(fields: CanonicalFields, existing: ActivityModule | undefined): ActivityWritePlan {
  const module = existing ?? moduleOfKind(fields.kind);
  const next: CanonicalFields = { ...fields };
  const adjusted: string[] = [];
  if ('kind' in fields) {
    const asked = fields.kind ?? 'task';
    if (asked !== KIND_OF_MODULE[module]) adjusted.push('kind');
    next.kind = KIND_OF_MODULE[module];
  }
  for (const field of UNHELD[module]) {
    if (!(field in next)) continue;
    if (next[field] !== null) adjusted.push(field);
    delete next[field];
  }
  if (typeof next.dueAt === 'string') {
    const held = module === 'Tasks' ? `${new Date(Date.parse(next.dueAt)).toISOString().slice(0, 10)}T00:00:00.000Z` : toWholeSecond(next.dueAt);
    if (held !== next.dueAt) adjusted.push('dueAt');
    next.dueAt = held;
  } else if (next.dueAt === null && module !== 'Tasks') {
    // A call's start and a meeting's start are mandatory [Z26][Z27]: a clear cannot be written.
    adjusted.push('dueAt');
    delete next.dueAt;
  }
  return { module, fields: next, adjusted };
}

/** A contacts slot's ids (null and absent are no one). */
export function contactIds(references: References | undefined): string[] | undefined {
  if (!references || !Object.prototype.hasOwnProperty.call(references, 'contacts')) return undefined;
  const value = references.contacts;
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** One entry of an event's Participants as Zoho answers it [Z27]. */
export interface Participant {
  type?: unknown;
  participant?: unknown;
}

/** The contacts among an event's Participants (leads, users and email addresses are not contacts). */
export function participantContacts(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: Participant) => (entry.type === 'contact' && typeof entry.participant === 'string' ? [entry.participant] : []));
}

/**
 * The Participants list a write sends: the contacts asked for, plus the participants that are not
 * contacts (leads, users, addresses someone invited in Zoho), which the canonical slot cannot
 * name and so must not remove. Whether a write replaces the list is UNCONFIRMED [Z31]: sending
 * it whole is right either way.
 */
export function participantsWrite(contacts: readonly string[], current: unknown): { type: string; participant: string }[] {
  const kept = (Array.isArray(current) ? (current as Participant[]) : []).flatMap((entry) =>
    entry.type !== 'contact' && typeof entry.type === 'string' && typeof entry.participant === 'string' ? [{ type: entry.type, participant: entry.participant }] : [],
  );
  return [...kept, ...[...new Set(contacts)].map((id) => ({ type: 'contact', participant: id }))];
}
