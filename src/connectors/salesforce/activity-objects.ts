import type { CanonicalFields } from '../../model/canonical';
import { compileMapping, mappingOverrideSchema, ownersOnly, type CompiledMapping, type ConnectorMappingSpec } from '../../model/mapping';

/**
 * A canonical activity is one of two Salesforce objects [S70][S71]: a Task (calls, emails and
 * to-dos, told apart by TaskSubtype) or an Event (a meeting, with a start and an end). Everything
 * here is data and pure functions; the calls that use them are in activities.ts.
 */

export type ActivityObject = 'Task' | 'Event';
export type ActivityKind = 'call' | 'email' | 'meeting' | 'task';

/** Key prefixes [S74]: an id names its object. Anything not an Event is read as a Task, as before. */
export const EVENT_KEY_PREFIX = '00U';

export function objectOfId(id: string): ActivityObject {
  return id.startsWith(EVENT_KEY_PREFIX) ? 'Event' : 'Task';
}

/** Where a create of this kind goes; absent or null is a task. */
export function objectOfKind(kind: unknown): ActivityObject {
  return kind === 'meeting' ? 'Event' : 'Task';
}

/** TaskSubtype written on a Task's create; it cannot change afterwards [S70]. */
export const TASK_SUBTYPE_OF_KIND: Readonly<Record<Exclude<ActivityKind, 'meeting'>, string>> = { call: 'Call', email: 'Email', task: 'Task' };

/**
 * TaskSubtype read into a kind. A list email is an email; Cadence and LinkedIn steps, an empty
 * subtype (Tasks made before the field existed) and any value added later are still to-dos.
 */
export function kindOfTaskSubtype(subtype: unknown): ActivityKind {
  if (subtype === 'Call') return 'call';
  if (subtype === 'Email' || subtype === 'ListEmail') return 'email';
  return 'task';
}

/** The field a Task's kind is read from (selected with every Task read). */
export const TASK_KIND_FIELD = 'TaskSubtype';

/**
 * An Event needs a length as well as a start [S72]; canonical activities carry no end, so a meeting
 * created here lasts this long. Updates never send it: a length set in Salesforce is kept.
 */
export const DEFAULT_MEETING_MINUTES = 30;

/**
 * Event's fields per canonical field. Event has no Status or Priority [S71], so a meeting reads
 * neither (absent: not read) and a write of them is left out and said (`adjusted`). dueAt is the
 * start, read and written (unlike Task.ActivityDate, a date).
 */
export const salesforceEventMapping: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    activity: {
      nativeObject: 'Event',
      fields: [
        { canonical: 'owner', native: 'OwnerId', type: 'owner' },
        { canonical: 'subject', native: 'Subject', type: 'string' },
        { canonical: 'description', native: 'Description', type: 'string' },
        { canonical: 'dueAt', native: 'StartDateTime', type: 'datetime' },
      ],
    },
  },
};

/** Canonical fields an Event cannot hold: left out of a write, and said. */
export const EVENT_UNHELD_FIELDS = ['status', 'priority'] as const;

/**
 * The Event mapping with the tenant's override: only its `custom.*` activity fields apply, because
 * activity custom fields are shared by Task and Event in Salesforce (UNCONFIRMED [S75]); the
 * standard fields an override remaps (Status values, a Task field for dueAt) are Task's.
 */
export function compileEventMapping(override: unknown): CompiledMapping {
  const parsed = override === undefined ? undefined : mappingOverrideSchema.safeParse(override);
  const custom = parsed?.success ? (parsed.data.objects.activity?.fields ?? []).filter((field) => field.canonical.startsWith('custom.')) : [];
  const owners = ownersOnly(override);
  return compileMapping(salesforceEventMapping, custom.length > 0 || owners ? { objects: custom.length > 0 ? { activity: { fields: custom } } : {}, ...owners } : undefined);
}

/** What Salesforce holds for the Event's start: whole seconds (UNCONFIRMED [S73]). */
export function toWholeSecond(iso: string): string {
  const epoch = Date.parse(iso);
  return Number.isNaN(epoch) ? iso : new Date(epoch - (((epoch % 1000) + 1000) % 1000)).toISOString();
}

/** The record a write lands on, when it already exists (by id, or found by its sync id). */
export interface ExistingActivity {
  object: ActivityObject;
  id: string;
  /** The Task's kind as Salesforce holds it; undefined when not read. */
  kind?: ActivityKind | undefined;
}

export interface ActivityWritePlan {
  object: ActivityObject;
  /** The fields to send down (kind as it will stand), and the id to update, if any. */
  fields: CanonicalFields;
  externalId?: string | undefined;
  /** Canonical fields not written as asked. */
  adjusted: string[];
}

/**
 * Where one activity write goes and what of it can be written. A create goes to its kind's object;
 * an update stays on its record's object. A kind the record cannot take (a Task asked to be a
 * meeting, an Event asked to be a call, a TaskSubtype Salesforce will not change) is said in
 * `adjusted` and the kind written reads as the record's own; so are fields an Event does not have
 * and a start cut to the second.
 */
export function planActivityWrite(fields: CanonicalFields, existing: ExistingActivity | undefined): ActivityWritePlan {
  const object = existing?.object ?? objectOfKind(fields.kind);
  const next: CanonicalFields = { ...fields };
  const adjusted: string[] = [];
  if ('kind' in fields) {
    const asked = (fields.kind ?? 'task') as ActivityKind;
    const holds = object === 'Event' ? 'meeting' : existing ? existing.kind : asked;
    if (holds !== undefined && holds !== asked) adjusted.push('kind');
    next.kind = holds ?? asked;
  }
  if (object === 'Event') {
    for (const field of EVENT_UNHELD_FIELDS) {
      if (!(field in next)) continue;
      if (next[field] !== null) adjusted.push(field);
      delete next[field];
    }
    // An Event cannot lose its start [S72]: a cleared dueAt is left out (and said); a create then fails for want of one.
    if (next.dueAt === null) {
      adjusted.push('dueAt');
      delete next.dueAt;
    }
    if (typeof next.dueAt === 'string') {
      const second = toWholeSecond(next.dueAt);
      if (second !== next.dueAt) adjusted.push('dueAt');
      next.dueAt = second;
    }
  }
  return { object, fields: next, externalId: existing?.id, adjusted };
}
