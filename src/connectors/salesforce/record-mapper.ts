import type { References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { MappingValueError, nativeFieldsToRead, objectMapping, toCanonical, toNative, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord, UpsertInput } from '../connector';
import { DEFAULT_MEETING_MINUTES, kindOfTaskSubtype, TASK_KIND_FIELD, TASK_SUBTYPE_OF_KIND } from './activity-objects';
import { SYNC_ID_FIELD } from './spec';

/**
 * Pure mappers between Salesforce records (as jsforce returns them, or Bulk CSV rows) and the
 * connector's ExternalRecord, shared by the REST, change, and Bulk paths.
 */

/** A Salesforce record as JSON: field name -> value (jsforce adds `attributes`). */
export type SalesforceRecord = Record<string, unknown>;

/** Salesforce ids of related records, by key prefix (the first three characters of an id). */
const KEY_PREFIX = { contact: '003', company: '001', deal: '006' } as const;

/** The reference fields read per object, besides the mapped ones. */
export const referenceFields: Record<ObjectType, readonly string[]> = {
  contact: ['AccountId'],
  company: [],
  // A deal's contacts live in OpportunityContactRole, read per page of deals (roles.ts).
  deal: ['AccountId'],
  activity: ['WhoId', 'WhatId'],
};

const systemFields = ['Id', 'SystemModstamp', 'LastModifiedById', SYNC_ID_FIELD] as const;

/** Whether this mapping reads activities from Task (the tenant's) rather than Event. */
const isTaskActivity = (mapping: CompiledMapping, objectType: ObjectType): boolean => objectType === 'activity' && nativeObjectName(mapping, objectType) === 'Task';
const isEventActivity = (mapping: CompiledMapping, objectType: ObjectType): boolean => objectType === 'activity' && nativeObjectName(mapping, objectType) === 'Event';

/** The SELECT list for an object: system fields, the sync id, mapped fields, references (and a Task's kind). */
export function selectFields(mapping: CompiledMapping, objectType: ObjectType): string[] {
  const kind = isTaskActivity(mapping, objectType) ? [TASK_KIND_FIELD] : [];
  return [...new Set([...systemFields, ...nativeFieldsToRead(mapping, objectType), ...referenceFields[objectType], ...kind])];
}

export function nativeObjectName(mapping: CompiledMapping, objectType: ObjectType): string {
  return objectMapping(mapping, objectType).nativeObject;
}

/** `2024-05-29T16:26:40.000+0000` (Salesforce) -> `2024-05-29T16:26:40.000Z`. */
export function toIsoInstant(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a Salesforce datetime, got ${JSON.stringify(value)}`);
  const epoch = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(epoch)) throw new Error(`expected a Salesforce datetime, got ${JSON.stringify(value)}`);
  return new Date(epoch).toISOString();
}

/** SOQL datetime literal (unquoted, UTC, milliseconds kept). */
export function soqlDateTime(iso: string): string {
  return new Date(Date.parse(iso)).toISOString();
}

/** SOQL string literal with the escapes SOQL requires. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function idWithPrefix(value: unknown, prefix: string): string | null {
  return typeof value === 'string' && value.startsWith(prefix) ? value : null;
}

function readReferences(objectType: ObjectType, record: SalesforceRecord): References {
  switch (objectType) {
    case 'contact':
      return 'AccountId' in record ? { company: idWithPrefix(record.AccountId, KEY_PREFIX.company) } : {};
    case 'company':
      return {};
    case 'deal':
      return 'AccountId' in record ? { company: idWithPrefix(record.AccountId, KEY_PREFIX.company) } : {};
    case 'activity': {
      const references: References = {};
      if ('WhoId' in record) {
        // WhoId may name a Lead (00Q): not a canonical object, so it is not a contact.
        const who = idWithPrefix(record.WhoId, KEY_PREFIX.contact);
        references.contacts = who ? [who] : [];
      }
      if ('WhatId' in record) {
        // WhatId is polymorphic and holds one record: the key prefix says which slot it fills. A Task
        // on a deal names no company of its own (the deal's account is its company), so the company
        // slot is then not read rather than read as empty: a company written with the deal is not
        // taken back as removed.
        const deal = idWithPrefix(record.WhatId, KEY_PREFIX.deal);
        references.deal = deal;
        if (!deal) references.company = idWithPrefix(record.WhatId, KEY_PREFIX.company);
      }
      return references;
    }
  }
}

/** Canonical references -> Salesforce reference fields; absent slots leave the field untouched. */
export function writeReferences(objectType: ObjectType, references: References | undefined): SalesforceRecord {
  if (!references) return {};
  const single = (slot: string): string | null | undefined => {
    const value = references[slot];
    if (value === undefined) return undefined;
    if (Array.isArray(value)) return value[0] ?? null;
    return value;
  };
  const native: SalesforceRecord = {};
  switch (objectType) {
    case 'contact':
    case 'deal': {
      const company = single('company');
      if (company !== undefined) native.AccountId = company;
      break;
    }
    case 'company':
      break;
    case 'activity': {
      // One WhoId per Task and Event; TaskRelation (Shared Activities, up to 50 contacts [S69]) is
      // not used. The first contact is written and the others are said (activityReferenceAdjustments).
      const contact = single('contacts');
      if (contact !== undefined) native.WhoId = contact;
      // One WhatId: a deal is more specific than its company, so it wins when both are given (the
      // company is then the deal's account, and is read back as not read, see readReferences).
      const deal = single('deal');
      const company = single('company');
      if (deal) native.WhatId = deal;
      else if (company !== undefined) native.WhatId = company;
      else if (deal === null) native.WhatId = null;
      break;
    }
  }
  return native;
}

/**
 * What of an activity's links one Task or Event cannot hold, as `adjusted` entries: contacts past
 * the first (one WhoId), and a company given with a deal (one WhatId: the deal is written). The
 * engine keeps its snapshot of those slots as it was, so the links left out are neither lost
 * elsewhere nor taken as removed here.
 */
export function activityReferenceAdjustments(references: References | undefined): string[] {
  const adjusted: string[] = [];
  const contacts = references?.contacts;
  if (Array.isArray(contacts) && new Set(contacts).size > 1) adjusted.push('references.contacts');
  if (typeof references?.deal === 'string' && typeof references.company === 'string') adjusted.push('references.company');
  return adjusted;
}

/** A Salesforce record -> ExternalRecord. Throws MappingValueError naming the field on a bad value. */
export function fromSalesforce(mapping: CompiledMapping, objectType: ObjectType, record: SalesforceRecord): ExternalRecord {
  const { fields } = toCanonical(mapping, objectType, record);
  // The kind is the object (an Event is a meeting) or, on a Task, its TaskSubtype when it was selected.
  if (isEventActivity(mapping, objectType)) fields.kind = 'meeting';
  else if (isTaskActivity(mapping, objectType) && TASK_KIND_FIELD in record) fields.kind = kindOfTaskSubtype(record[TASK_KIND_FIELD]);
  const syncId = record[SYNC_ID_FIELD];
  const modifiedBy = record.LastModifiedById;
  return {
    objectType,
    externalId: String(record.Id),
    syncId: typeof syncId === 'string' && syncId !== '' ? syncId : null,
    modifiedAt: toIsoInstant(record.SystemModstamp),
    fields,
    references: readReferences(objectType, record),
    lastModifiedBy: typeof modifiedBy === 'string' ? modifiedBy : undefined,
  };
}

/**
 * A Bulk 2.0 CSV row -> the JSON shape the REST API would give: an empty cell is null (CSV has no
 * null), so it maps the same way through the mapping.
 */
export function fromCsvRow(row: Record<string, unknown>): SalesforceRecord {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value === '' ? null : value]));
}

/** An upsert input -> the Salesforce body: mapped fields, references and the sync id (and what a new activity needs). */
export function toSalesforce(mapping: CompiledMapping, objectType: ObjectType, input: UpsertInput): SalesforceRecord {
  const body: SalesforceRecord = { ...toNative(mapping, objectType, input.fields), ...writeReferences(objectType, input.references), [SYNC_ID_FIELD]: input.syncId };
  return input.externalId ? body : { ...body, ...creatingActivity(mapping, objectType, input, body) };
}

/**
 * Fields only a create sends: a Task's TaskSubtype (it cannot change later [S70]), an Event's length
 * (required with its start [S72]; the default, since canonical activities carry no end). An Event
 * without a start cannot be created: refused here, naming dueAt, rather than by the org.
 */
function creatingActivity(mapping: CompiledMapping, objectType: ObjectType, input: UpsertInput, body: SalesforceRecord): SalesforceRecord {
  if (isTaskActivity(mapping, objectType)) {
    const kind = input.fields.kind;
    return { [TASK_KIND_FIELD]: kind === 'call' || kind === 'email' ? TASK_SUBTYPE_OF_KIND[kind] : TASK_SUBTYPE_OF_KIND.task };
  }
  if (!isEventActivity(mapping, objectType)) return {};
  if (typeof body.StartDateTime !== 'string') throw new MappingValueError('dueAt', 'a Salesforce Event (meeting) needs a start: dueAt is required to create one');
  return { DurationInMinutes: DEFAULT_MEETING_MINUTES };
}
