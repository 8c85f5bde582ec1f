import type { activityKinds, References } from '../../model/canonical';
import { compileMapping, toCanonical, toNative, nativeFieldsToRead, objectMapping, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord, UpsertInput } from '../connector';
import { dynamicsActivityTableMappings } from './default-mapping';
import { normalizeTimestamp, regardingBind, regardingReferences, type DataverseRow } from './record-mapper';
import type { DynamicsSpec, RegardingSpec } from './spec';

export type ActivityKind = (typeof activityKinds)[number];

/**
 * One Dataverse activity table behind the canonical activity [D39]: the kind it holds, its regarding
 * navigation names [D42], and which activity parties are "the activity's contacts" [D37][D41].
 */
export interface ActivityTableSpec {
  kind: ActivityKind;
  entitySet: string;
  logicalName: string;
  regarding: RegardingSpec;
  /**
   * Contact parties read as the activity's contacts (`contactMasks`), and the type a contact is
   * added as (`writeMask`). Absent: the table holds no contact parties (task).
   */
  parties?: { navigation: string; contactMasks: readonly number[]; writeMask: number } | undefined;
  /** statecode values read as another: an appointment's Scheduled (3) is open like Open (0) [D45]. */
  stateAliases?: Readonly<Record<number, number>> | undefined;
}

function regardingOf(logicalName: string): RegardingSpec {
  return {
    column: '_regardingobjectid_value',
    slots: [
      { slot: 'deal', logicalName: 'opportunity', navigation: `regardingobjectid_opportunity_${logicalName}`, targetSet: 'opportunities' },
      { slot: 'company', logicalName: 'account', navigation: `regardingobjectid_account_${logicalName}`, targetSet: 'accounts' },
    ],
  };
}

/** Task first: the table every existing id and cursor knows, and the kind of a create without one. */
export const ACTIVITY_TABLES: readonly ActivityTableSpec[] = [
  { kind: 'task', entitySet: 'tasks', logicalName: 'task', regarding: regardingOf('task') },
  // A call's contact is the other end, whichever way it went: Sender (1) or ToRecipient (2) [D37].
  { kind: 'call', entitySet: 'phonecalls', logicalName: 'phonecall', regarding: regardingOf('phonecall'), parties: { navigation: 'phonecall_activity_parties', contactMasks: [1, 2], writeMask: 2 } },
  // An email's contacts: its sender and To recipients; Cc/Bcc are copies, not the people it is with.
  { kind: 'email', entitySet: 'emails', logicalName: 'email', regarding: regardingOf('email'), parties: { navigation: 'email_activity_parties', contactMasks: [1, 2], writeMask: 2 } },
  // A meeting's contacts: required and optional attendees; a contact added is required (5).
  {
    kind: 'meeting',
    entitySet: 'appointments',
    logicalName: 'appointment',
    regarding: regardingOf('appointment'),
    parties: { navigation: 'appointment_activity_parties', contactMasks: [5, 6], writeMask: 5 },
    stateAliases: { 3: 0 },
  },
];

export function tableOfKind(kind: unknown): ActivityTableSpec {
  return ACTIVITY_TABLES.find((table) => table.kind === kind) ?? (ACTIVITY_TABLES[0] as ActivityTableSpec);
}

export function tableOfLogicalName(logicalName: unknown): ActivityTableSpec | undefined {
  return ACTIVITY_TABLES.find((table) => table.logicalName === logicalName);
}

/**
 * The field map of each table: the tenant's (defaults plus override) for task, the connector's own
 * for the others. An override names task columns (custom ones live on the task table alone), so
 * it does not reach phone calls, emails or appointments.
 */
export function activityMappings(taskMapping: CompiledMapping): ReadonlyMap<string, CompiledMapping> {
  const mappings = new Map<string, CompiledMapping>([['task', taskMapping]]);
  for (const [logicalName, object] of Object.entries(dynamicsActivityTableMappings)) {
    mappings.set(logicalName, compileMapping({ valueEncoding: 'json', objects: { activity: object } }, taskMapping.owners ? { owners: taskMapping.owners } : undefined));
  }
  return mappings;
}

export function mappingOf(mappings: ReadonlyMap<string, CompiledMapping>, table: ActivityTableSpec): CompiledMapping {
  const mapping = mappings.get(table.logicalName);
  if (!mapping) throw new Error(`no field map for the ${table.logicalName} table`);
  return mapping;
}

export function activitySelect(spec: DynamicsSpec, mapping: CompiledMapping, table: ActivityTableSpec): string[] {
  const columns = ['activityid', spec.syncIdColumn, spec.systemColumns.modifiedOn, spec.systemColumns.version, spec.systemColumns.modifiedBy, table.regarding.column, ...nativeFieldsToRead(mapping, 'activity')];
  return [...new Set(columns)];
}

/** A party row as read from `activityparties`, with its lookuplogicalname annotation. */
export interface PartyRow {
  activityId: string;
  partyId: string;
  partyTable: string | undefined;
  mask: number;
}

export function toPartyRow(row: DataverseRow): PartyRow {
  const table = row['_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname'];
  return {
    activityId: String(row._activityid_value).toLowerCase(),
    partyId: String(row._partyid_value).toLowerCase(),
    partyTable: typeof table === 'string' ? table : undefined,
    mask: Number(row.participationtypemask),
  };
}

/** The activity's contacts: contact parties of the table's contact types, each once. */
export function contactsOf(table: ActivityTableSpec, parties: readonly PartyRow[]): string[] {
  const masks = table.parties?.contactMasks ?? [];
  return [...new Set(parties.filter((party) => party.partyTable === 'contact' && masks.includes(party.mask)).map((party) => party.partyId))].sort();
}

/** A row of one activity table as a canonical activity: its kind is its table. */
export function fromActivityRow(spec: DynamicsSpec, mapping: CompiledMapping, table: ActivityTableSpec, row: DataverseRow, parties: readonly PartyRow[] | undefined): ExternalRecord {
  const state = row.statecode;
  const aliased = typeof state === 'number' && table.stateAliases?.[state] !== undefined ? { ...row, statecode: table.stateAliases[state] } : row;
  const references: References = table.regarding.column in row ? regardingReferences(table.regarding, row) : {};
  if (table.parties && parties) references.contacts = contactsOf(table, parties);
  const syncId = row[spec.syncIdColumn];
  const modifiedBy = row[spec.systemColumns.modifiedBy];
  return {
    objectType: 'activity',
    externalId: String(row.activityid).toLowerCase(),
    syncId: typeof syncId === 'string' && syncId !== '' ? syncId : null,
    modifiedAt: normalizeTimestamp(row[spec.systemColumns.modifiedOn]),
    fields: { ...toCanonical(mapping, 'activity', aliased).fields, kind: table.kind },
    references,
    ...(typeof modifiedBy === 'string' ? { lastModifiedBy: modifiedBy } : {}),
    ...(typeof row['@odata.etag'] === 'string' ? { version: row['@odata.etag'] } : {}),
  };
}

/** The body of an activity upsert on `table`: mapped columns, the sync id, the regarding bind. */
export function activityPayload(spec: DynamicsSpec, mapping: CompiledMapping, table: ActivityTableSpec, input: UpsertInput): Record<string, unknown> {
  const body = toNative(mapping, 'activity', input.fields);
  for (const field of objectMapping(mapping, 'activity').writes) {
    if (field.type === 'picklist' && Object.keys(field.values ?? {}).every((key) => /^-?\d+$/.test(key)) && typeof body[field.native] === 'string') {
      // Choice columns are Edm.Int32: "1" would be refused as a type mismatch.
      body[field.native] = Number(body[field.native]);
    }
  }
  body[spec.syncIdColumn] = input.syncId;
  const { bind } = regardingBind(table.regarding, input.references ?? {});
  if (bind) body[bind[0]] = bind[1];
  return body;
}

/** Entity set of a party's table, for rebinding the parties a write keeps. */
const PARTY_SETS: Readonly<Record<string, string>> = { contact: 'contacts', account: 'accounts', systemuser: 'systemusers', lead: 'leads', queue: 'queues', team: 'teams' };

/**
 * The party list that makes the activity's contacts exactly `wanted`: every party that is not one
 * of its contacts is kept as it is (sender user, organizer, Cc...), a contact already there in a
 * contact type is kept in that type, and the others are added as `writeMask`. `undefined` when the
 * contacts are already exactly those (no write).
 */
export function partyList(table: ActivityTableSpec, current: readonly PartyRow[], wanted: readonly string[]): Record<string, unknown>[] | undefined {
  const parties = table.parties;
  if (!parties) return undefined;
  const want = new Set(wanted.map((id) => id.toLowerCase()));
  const have = contactsOf(table, current);
  if (have.length === want.size && have.every((id) => want.has(id))) return undefined;
  const isContact = (party: PartyRow): boolean => party.partyTable === 'contact' && parties.contactMasks.includes(party.mask);
  const kept = current.filter((party) => !isContact(party) || want.has(party.partyId));
  const keptContacts = new Set(kept.filter(isContact).map((party) => party.partyId));
  const added = [...want].filter((id) => !keptContacts.has(id)).map((partyId): PartyRow => ({ activityId: '', partyId, partyTable: 'contact', mask: parties.writeMask }));
  return [...kept, ...added].map((party) => ({
    [`partyid_${party.partyTable ?? 'contact'}@odata.bind`]: `/${PARTY_SETS[party.partyTable ?? 'contact'] ?? `${party.partyTable ?? 'contact'}s`}(${party.partyId})`,
    participationtypemask: party.mask,
  }));
}
