import type { References } from '../../model/canonical';
import type { ExternalRecord, UpsertInput, UpsertOutcome } from '../connector';
import type { ConnectorError } from '../errors';
import { recordError } from './errors';
import { soqlString, toIsoInstant, type SalesforceRecord } from './record-mapper';
import type { SalesforceSession } from './session';
import { salesforceSpec } from './spec';

/**
 * A deal's contacts live in OpportunityContactRole, a junction object [S63]: `deal.contacts` is the
 * set of its roles' contacts, `deal.primaryContact` the contact of the role marked IsPrimary.
 * Everything here works per page of opportunities (one `OpportunityId IN (...)` query per 200),
 * never per record.
 */

export const ROLE_OBJECT = 'OpportunityContactRole';
const CONTACT_PREFIX = '003';

export interface RoleRow {
  Id: string;
  OpportunityId: string;
  ContactId: string;
  IsPrimary: boolean;
  /** ISO instant. */
  modifiedAt: string;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export function toRoleRow(row: SalesforceRecord): RoleRow {
  return {
    Id: String(row.Id),
    OpportunityId: String(row.OpportunityId),
    ContactId: String(row.ContactId),
    IsPrimary: row.IsPrimary === true || row.IsPrimary === 'true',
    modifiedAt: toIsoInstant(row.SystemModstamp),
  };
}

/**
 * Role id -> opportunity id for every role this connector has seen. A role deleted on its own leaves
 * the Recycle Bin out (IsDeleted works only for roles deleted with their opportunity [S66]), so
 * getDeleted's bare id [S67] can be tied to its opportunity only by having seen the role before.
 */
export class RoleIndex {
  private readonly byRole = new Map<string, string>();

  remember(rows: Iterable<RoleRow>): void {
    for (const row of rows) this.byRole.set(row.Id, row.OpportunityId);
  }

  opportunityOf(roleId: string): string | undefined {
    return this.byRole.get(roleId);
  }
}

/** Live roles of these opportunities, grouped by opportunity (every id asked for has an entry). */
export async function readRoles(session: SalesforceSession, index: RoleIndex, opportunityIds: readonly string[]): Promise<Map<string, RoleRow[]>> {
  const byOpportunity = new Map<string, RoleRow[]>(opportunityIds.map((id) => [id, []]));
  for (const ids of chunks([...new Set(opportunityIds)], salesforceSpec.batch.readSize)) {
    const soql = `SELECT Id, OpportunityId, ContactId, IsPrimary, SystemModstamp FROM ${ROLE_OBJECT} WHERE OpportunityId IN (${ids.map(soqlString).join(', ')}) ORDER BY OpportunityId ASC, Id ASC`;
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
    let page = await session.call(async (conn) => await conn.query<SalesforceRecord>(soql, { autoFetch: false }));
    const rows = page.records.map(toRoleRow);
    while (!page.done && page.nextRecordsUrl) {
      const locator = page.nextRecordsUrl;
      page = await session.call(async (conn) => await conn.queryMore<SalesforceRecord>(locator));
      rows.push(...page.records.map(toRoleRow));
    }
    index.remember(rows);
    for (const row of rows) byOpportunity.get(row.OpportunityId)?.push(row);
  }
  return byOpportunity;
}

/** The two slots as read: contacts distinct (a contact may hold several roles [S64]), primary or null. */
export function roleReferences(rows: readonly RoleRow[]): References {
  const contacts = [...new Set(rows.map((row) => row.ContactId).filter((id) => id.startsWith(CONTACT_PREFIX)))];
  const primary = rows.find((row) => row.IsPrimary && row.ContactId.startsWith(CONTACT_PREFIX));
  return { contacts, primaryContact: primary ? primary.ContactId : null };
}

/** The newest stamp among the opportunity's own and its roles'. */
export function latestStamp(opportunityStamp: string, rows: readonly RoleRow[], removedStamps: readonly string[] = []): string {
  return [...rows.map((row) => row.modifiedAt), ...removedStamps].reduce((high, stamp) => (stamp > high ? stamp : high), opportunityStamp);
}

export interface RolePlan {
  create: { ContactId: string; IsPrimary: boolean }[];
  update: { Id: string; IsPrimary: boolean }[];
  remove: string[];
}

/** Whether an upsert input asks for the roles to be written (either slot present). */
export function wantsRoles(references: References | undefined): boolean {
  return references !== undefined && (references.contacts !== undefined || references.primaryContact !== undefined);
}

/**
 * What to create, flag and delete so the roles hold exactly the slots given. A contact kept keeps
 * every role it has (their Role names are the org's, not ours); a contact dropped loses all of
 * them. A primary contact outside the contacts given still needs a role to be primary on.
 */
export function planRoles(current: readonly RoleRow[], references: References): RolePlan {
  const plan: RolePlan = { create: [], update: [], remove: [] };
  const primarySlot = references.primaryContact;
  const primary = typeof primarySlot === 'string' ? primarySlot : Array.isArray(primarySlot) ? (primarySlot[0] ?? null) : primarySlot;
  const contactsSlot = references.contacts;
  const listed = contactsSlot === undefined ? undefined : Array.isArray(contactsSlot) ? contactsSlot : contactsSlot === null ? [] : [contactsSlot];
  const wanted = listed === undefined ? undefined : new Set(primary ? [...listed, primary] : listed);
  const kept = wanted === undefined ? [...current] : current.filter((row) => wanted.has(row.ContactId));
  if (wanted !== undefined) plan.remove.push(...current.filter((row) => !wanted.has(row.ContactId)).map((row) => row.Id));
  const held = new Set(kept.map((row) => row.ContactId));
  const toCreate = wanted === undefined ? (primary && !held.has(primary) ? [primary] : []) : [...wanted].filter((contact) => !held.has(contact));
  plan.create.push(...toCreate.map((ContactId) => ({ ContactId, IsPrimary: primarySlot !== undefined && ContactId === primary })));
  if (primarySlot === undefined) return plan;
  // One role of the primary contact carries the flag (the one already flagged, else the first).
  const flagged = primary ? (kept.find((row) => row.ContactId === primary && row.IsPrimary) ?? kept.find((row) => row.ContactId === primary)) : undefined;
  for (const row of kept) {
    const shouldBe = row.Id === flagged?.Id;
    if (row.IsPrimary !== shouldBe) plan.update.push({ Id: row.Id, IsPrimary: shouldBe });
  }
  return plan;
}

interface SaveResult {
  id?: string;
  success: boolean;
  errors?: { statusCode?: string; message?: string; fields?: string[] }[];
}

export interface RoleWrite {
  opportunityId: string;
  references: References;
}

export interface RoleWriteResult {
  /** Opportunities whose roles could not all be written, with the first error. */
  failed: Map<string, ConnectorError>;
  /** Opportunities written, with their roles' newest stamp (deleted roles included). */
  stamps: Map<string, string>;
}

/**
 * Makes each opportunity's roles hold exactly the slots given, through sObject Collections
 * (delete, update, create; 200 a call, allOrNone false [S16]), after reading the current roles
 * once per 200 opportunities. The roles' stamps are read back for the outcome's modifiedAt, and
 * the deletions' from getDeleted [S67], so our own write is not later taken for a newer change.
 */
export async function writeRoles(session: SalesforceSession, index: RoleIndex, writes: readonly RoleWrite[]): Promise<RoleWriteResult> {
  const failed = new Map<string, ConnectorError>();
  const stamps = new Map<string, string>();
  if (writes.length === 0) return { failed, stamps };
  const startedAt = Date.now();
  const current = await readRoles(session, index, writes.map((write) => write.opportunityId));
  const removals: { id: string; opportunityId: string }[] = [];
  const updates: { record: SalesforceRecord; opportunityId: string }[] = [];
  const creations: { record: SalesforceRecord; opportunityId: string }[] = [];
  for (const write of writes) {
    const plan = planRoles(current.get(write.opportunityId) ?? [], write.references);
    removals.push(...plan.remove.map((id) => ({ id, opportunityId: write.opportunityId })));
    updates.push(...plan.update.map((row) => ({ record: { Id: row.Id, IsPrimary: row.IsPrimary }, opportunityId: write.opportunityId })));
    creations.push(...plan.create.map((row) => ({ record: { OpportunityId: write.opportunityId, ContactId: row.ContactId, IsPrimary: row.IsPrimary }, opportunityId: write.opportunityId })));
  }
  const settle = (items: readonly { opportunityId: string }[], results: readonly SaveResult[]): void => {
    items.forEach((item, position) => {
      const result = results[position];
      if (result?.success) return;
      if (!failed.has(item.opportunityId)) failed.set(item.opportunityId, recordError(result?.errors?.length ? result.errors : [{ statusCode: 'UNKNOWN_EXCEPTION', message: 'no result for a contact role' }]));
    });
  };
  const size = salesforceSpec.batch.collectionSize;
  for (const batch of chunks(removals, size)) {
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm
    settle(batch, await session.call((conn) => conn.sobject(ROLE_OBJECT).destroy(batch.map((item) => item.id), { allOrNone: false })));
  }
  for (const batch of chunks(updates, size)) {
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    settle(batch, await session.call((conn) => conn.sobject(ROLE_OBJECT).update(batch.map((item) => item.record) as { Id: string }[], { allOrNone: false })));
  }
  for (const batch of chunks(creations, size)) {
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
    settle(batch, await session.call((conn) => conn.sobject(ROLE_OBJECT).create(batch.map((item) => item.record), { allOrNone: false })));
  }
  const written = writes.map((write) => write.opportunityId).filter((id) => !failed.has(id));
  const after = await readRoles(session, index, written);
  const removedStamps = removals.length > 0 ? (await deletedRoles(session, new Date(startedAt - 1_000))).stamps : new Map<string, string>();
  for (const opportunityId of written) {
    const removed = removals.filter((item) => item.opportunityId === opportunityId).map((item) => removedStamps.get(item.id)).filter((stamp): stamp is string => stamp !== undefined);
    stamps.set(opportunityId, latestStamp('', after.get(opportunityId) ?? [], removed));
  }
  return { failed, stamps };
}

/**
 * Role deletions since `start` from the delete log [S67]: role id -> deletedDate (ISO), and how far
 * the log was covered (`latestDateCovered`; jsforce sends whole seconds, so the current second is
 * never covered).
 */
export async function deletedRoles(session: SalesforceSession, start: Date, end: Date = new Date()): Promise<{ stamps: Map<string, string>; coveredTo: string }> {
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
  const result = await session.call((conn) => conn.sobject(ROLE_OBJECT).deleted(start, end));
  return {
    stamps: new Map(result.deletedRecords.map((record) => [record.id, toIsoInstant(record.deletedDate)])),
    coveredTo: result.latestDateCovered ? toIsoInstant(result.latestDateCovered) : start.toISOString(),
  };
}

/** A deal as read, with its role slots and the newest of its own and its roles' stamps. */
export function withRoles(record: ExternalRecord, rows: readonly RoleRow[], removedStamps: readonly string[] = []): ExternalRecord {
  return { ...record, references: { ...record.references, ...roleReferences(rows) }, modifiedAt: latestStamp(record.modifiedAt, rows, removedStamps) };
}

/** Deals of one page with their roles: one query per 200 opportunities. */
export async function attachRoles(session: SalesforceSession, index: RoleIndex, records: readonly ExternalRecord[]): Promise<ExternalRecord[]> {
  if (records.length === 0) return [];
  const roles = await readRoles(session, index, records.map((record) => record.externalId));
  return records.map((record) => withRoles(record, roles.get(record.externalId) ?? []));
}

/**
 * After the opportunities are written: their roles, for every input that names a role slot. A
 * deal whose roles could not all be written is reported failed (the engine retries or parks it),
 * never written: its sync id is on the opportunity, so the retry updates it rather than duplicate.
 */
export async function writeDealRoles(session: SalesforceSession, index: RoleIndex, inputs: readonly UpsertInput[], outcomes: readonly UpsertOutcome[]): Promise<UpsertOutcome[]> {
  const writes: RoleWrite[] = [];
  inputs.forEach((input, position) => {
    const outcome = outcomes[position];
    if (!outcome || !('externalId' in outcome) || outcome.status === 'exists' || !wantsRoles(input.references)) return;
    writes.push({ opportunityId: outcome.externalId, references: input.references as References });
  });
  const { failed, stamps } = await writeRoles(session, index, writes);
  return outcomes.map((outcome) => {
    if (outcome.status !== 'created' && outcome.status !== 'updated' && outcome.status !== 'unchanged') return outcome;
    const error = failed.get(outcome.externalId);
    if (error) {
      const info = error.toInfo();
      return { syncId: outcome.syncId, status: 'failed', error: { ...info, message: `contact roles: ${info.message}`, fieldErrors: [{ field: 'contacts', message: info.message }] } };
    }
    const stamp = stamps.get(outcome.externalId);
    return stamp && outcome.modifiedAt && stamp > outcome.modifiedAt ? { ...outcome, modifiedAt: stamp } : outcome;
  });
}
