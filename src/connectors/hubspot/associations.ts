import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/models/AssociationSpec';
import type { References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { ConnectorError, type ConnectorErrorInfo } from '../errors';
import type { HubSpotContext } from './context';
import { classifyHubSpotFailure, type HubSpotErrorBody } from './errors';
import { parseExternalId, type HubSpotTarget } from './activity-kinds';
import { hubspotSpec, type HubSpotObjectPath } from './spec';
import { hubspotSlots, linksFromReferences, planLinkChanges, referencesFromLinks, type LinkChange, type Links, type LinksByPath } from './association-mapper';

/**
 * Associations through the v4 batch endpoints [H50]: one read per (page of records, target
 * type), writes as one archive and one create per (chunk, target type), never a call per record.
 * The mapping between slots and HubSpot's association types is pure (association-mapper.ts).
 */

/** A batch association read answers NO_ASSOCIATIONS_FOUND for an id that has none: that is "none", not a failure [H37]. */
const NO_ASSOCIATIONS = 'crm.associations.NO_ASSOCIATIONS_FOUND';

/** Every record's associations to the targets of its slots: one batch read per target type (and per further page of a record's associations). */
export async function readLinks(ctx: HubSpotContext, target: HubSpotTarget, ids: readonly string[]): Promise<Map<string, LinksByPath>> {
  const found = new Map<string, LinksByPath>(ids.map((id) => [id, {}]));
  const paths = [...new Set(hubspotSlots(target.objectType).map((slot) => slot.path))];
  for (const path of paths) {
    const byId = await readPath(ctx, target.path, path, ids);
    for (const id of ids) (found.get(id) as LinksByPath)[path] = byId.get(id) ?? { ids: [] };
  }
  return found;
}

/** The records with every slot HubSpot can hold read (deal.primaryContact stays absent: HubSpot has none). */
export async function withReferences(ctx: HubSpotContext, target: HubSpotTarget, records: ExternalRecord[]): Promise<ExternalRecord[]> {
  if (records.length === 0 || hubspotSlots(target.objectType).length === 0) return records;
  const idOf = (record: ExternalRecord): string => parseExternalId(target.objectType, record.externalId)?.id ?? record.externalId;
  const links = await readLinks(ctx, target, [...new Set(records.map(idOf))]);
  return records.map((record) => ({ ...record, references: referencesFromLinks(target.objectType, links.get(idOf(record)) ?? {}) }));
}

async function readPath(ctx: HubSpotContext, fromPath: HubSpotObjectPath, toPath: HubSpotObjectPath, ids: readonly string[]): Promise<Map<string, Links>> {
  const primaryType = primaryTypeOf(fromPath, toPath);
  const byId = new Map<string, Links>();
  for (let start = 0; start < ids.length; start += hubspotSpec.paging.associationReadBatch) {
    let pending: { id: string; after?: string }[] = ids.slice(start, start + hubspotSpec.paging.associationReadBatch).map((id) => ({ id }));
    while (pending.length > 0) {
      const inputs = pending;
      // https://developers.hubspot.com/docs/api-reference/crm-associations-v4 (POST /crm/v4/associations/{from}/{to}/batch/read; 1,000 ids, `after` per id)
      const answer = await retriedRead(() => ctx.runner.run('standard', (options) => ctx.apis.associationsBatch.getPage(fromPath, toPath, { inputs }, options)));
      pending = [];
      for (const result of answer.results) {
        const id = String(result._from.id);
        const links = byId.get(id) ?? { ids: [] };
        for (const target of result.to) {
          const toId = String(target.toObjectId);
          links.ids.push(toId);
          if (primaryType !== undefined && target.associationTypes.some((type) => type.typeId === primaryType && String(type.category) === 'HUBSPOT_DEFINED')) links.primary = toId;
        }
        byId.set(id, links);
        const after = result.paging?.next?.after;
        if (after) pending.push({ id, after });
      }
      const errors = ('errors' in answer ? answer.errors : undefined) ?? [];
      for (const entry of errors) {
        if (entry.subCategory === NO_ASSOCIATIONS) continue;
        // Anything else leaves the slot unknown: reporting it as "none" would remove links on the other side.
        throw classifyHubSpotFailure(entry.category === 'OBJECT_NOT_FOUND' ? 404 : 400, entry);
      }
    }
  }
  return byId;
}

/**
 * Makes each written record's slots hold exactly the ids given: per target type, one batch read
 * of the current links (records HubSpot just created have none), one batch archive of the links
 * to drop, then one batch create of the links to add, the company slot as the primary association
 * where HubSpot has one. Archive goes first so a new primary never meets the old one. Returns the
 * records (by input index) whose associations HubSpot refused; a failure of a whole call that may
 * pass on retry (429, 5xx, auth) is thrown, so the engine retries the write.
 */
export async function writeLinks(ctx: HubSpotContext, target: HubSpotTarget, writes: readonly LinkWrite[]): Promise<Map<number, ConnectorErrorInfo>> {
  const failures = new Map<number, ConnectorErrorInfo>();
  const objectType: ObjectType = target.objectType;
  const fromPath = target.path;
  const indexesOf = new Map<string, number[]>();
  for (const write of writes) indexesOf.set(write.id, [...(indexesOf.get(write.id) ?? []), write.index]);
  const fail = (ids: Iterable<string>, error: ConnectorErrorInfo): void => {
    for (const id of ids) for (const index of indexesOf.get(id) ?? []) if (!failures.has(index)) failures.set(index, error);
  };
  for (const path of [...new Set(hubspotSlots(objectType).map((slot) => slot.path))]) {
    const wanted = writes.flatMap((write) => {
      const links = linksFromReferences(objectType, write.references)[path];
      return links ? [{ write, links }] : [];
    });
    if (wanted.length === 0) continue;
    const toRead = wanted.filter(({ write }) => !write.created).map(({ write }) => write.id);
    const current = toRead.length > 0 ? await readPath(ctx, fromPath, path, [...new Set(toRead)]) : new Map<string, Links>();
    const changes = planLinkChanges(
      wanted.map(({ write, links }) => ({ id: write.id, wanted: links, current: current.get(write.id) ?? { ids: [] } })),
      primaryTypeOf(fromPath, path) !== undefined,
    );
    await archiveLinks(ctx, fromPath, path, changes.filter((change) => change.kind === 'archive'), fail);
    await createLinks(ctx, fromPath, path, changes.filter((change) => change.kind === 'create'), fail);
  }
  return failures;
}

export interface LinkWrite {
  index: number;
  /** The record's HubSpot id. */
  id: string;
  /** Created by this write: it has no associations yet, nothing to read. */
  created: boolean;
  references: References;
}

type Fail = (ids: Iterable<string>, error: ConnectorErrorInfo) => void;

async function archiveLinks(ctx: HubSpotContext, fromPath: HubSpotObjectPath, toPath: HubSpotObjectPath, changes: LinkChange[], fail: Fail): Promise<void> {
  const byFrom = new Map<string, string[]>();
  for (const change of changes) byFrom.set(change.from, [...(byFrom.get(change.from) ?? []), change.to]);
  const inputs = [...byFrom].map(([from, to]) => ({ _from: { id: from }, to: to.map((id) => ({ id })) }));
  for (let start = 0; start < inputs.length; start += hubspotSpec.paging.associationWriteBatch) {
    const chunk = inputs.slice(start, start + hubspotSpec.paging.associationWriteBatch);
    // https://developers.hubspot.com/docs/api-reference/crm-associations-v4 (POST /crm/v4/associations/{from}/{to}/batch/archive: every association between each pair, 204)
    await refusedOrThrow(() => ctx.runner.run('standard', (options) => ctx.apis.associationsBatch.archive(fromPath, toPath, { inputs: chunk }, options)), chunk.map((input) => input._from.id), fail);
  }
}

async function createLinks(ctx: HubSpotContext, fromPath: HubSpotObjectPath, toPath: HubSpotObjectPath, changes: LinkChange[], fail: Fail): Promise<void> {
  const defaultType = defaultTypeOf(fromPath, toPath);
  const primaryType = primaryTypeOf(fromPath, toPath);
  const spec = (associationTypeId: number) => ({ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId });
  const inputs = changes.map((change) => ({
    _from: { id: change.from },
    to: { id: change.to },
    // The primary label alongside the unlabelled type: the pair is associated either way [H52].
    types: change.primary && primaryType !== undefined ? [spec(defaultType), spec(primaryType)] : [spec(defaultType)],
  }));
  for (let start = 0; start < inputs.length; start += hubspotSpec.paging.associationWriteBatch) {
    const chunk = inputs.slice(start, start + hubspotSpec.paging.associationWriteBatch);
    // https://developers.hubspot.com/docs/api-reference/crm-associations-v4 (POST /crm/v4/associations/{from}/{to}/batch/create; 207 lists refused pairs)
    const answer = await refusedOrThrow(() => ctx.runner.run('standard', (options) => ctx.apis.associationsBatch.create(fromPath, toPath, { inputs: chunk }, options)), chunk.map((input) => input._from.id), fail);
    const errors = (answer && 'errors' in answer ? answer.errors : undefined) ?? [];
    for (const entry of errors) {
      const body = entry as HubSpotErrorBody;
      const error = classifyHubSpotFailure(entry.category === 'OBJECT_NOT_FOUND' ? 404 : 400, body).toInfo();
      // The refused pair names its record in `fromObjectId` (sandbox and clients' logs; UNCONFIRMED beyond that): without it, every record of the chunk is in doubt.
      const named = body.context?.fromObjectId ?? [];
      fail(named.length > 0 ? named : chunk.map((input) => input._from.id), error);
    }
  }
}

/** A call HubSpot refused outright for the records it carried fails those records; one that may pass on retry fails the write. */
async function refusedOrThrow<T>(call: () => Promise<T>, ids: readonly string[], fail: Fail): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ConnectorError) || error.retryable || error.errorClass === 'auth') throw error;
    fail(ids, error.toInfo());
    return undefined;
  }
}

/**
 * HubSpot-defined association type ids, from the official client's AssociationTypes enum [H9][H50]:
 * unlabelled contact->company 279, deal->company 341, deal->contact 3, task->contact 204,
 * task->company 192, task->deal 216; call, email and meeting to contact 194 / 198 / 200, to
 * company 182 / 186 / 188, to deal 206 / 210 / 212 [H62]; primary company of a contact 1, of a deal 5.
 */
const DEFAULT_TYPES: Record<string, number> = {
  'contacts>companies': 279,
  'deals>companies': 341,
  'deals>contacts': 3,
  'tasks>contacts': 204,
  'tasks>companies': 192,
  'tasks>deals': 216,
  'calls>contacts': 194,
  'calls>companies': 182,
  'calls>deals': 206,
  'emails>contacts': 198,
  'emails>companies': 186,
  'emails>deals': 210,
  'meetings>contacts': 200,
  'meetings>companies': 188,
  'meetings>deals': 212,
};
const PRIMARY_TYPES: Record<string, number> = { 'contacts>companies': 1, 'deals>companies': 5 };

function defaultTypeOf(fromPath: HubSpotObjectPath, toPath: HubSpotObjectPath): number {
  const typeId = DEFAULT_TYPES[`${fromPath}>${toPath}`];
  if (typeId === undefined) throw new Error(`no HubSpot association type from ${fromPath} to ${toPath}`);
  return typeId;
}

function primaryTypeOf(fromPath: HubSpotObjectPath, toPath: HubSpotObjectPath): number | undefined {
  return PRIMARY_TYPES[`${fromPath}>${toPath}`];
}

/**
 * A read is safe to repeat: a passing 429/5xx on one page's association read is retried in place
 * (through the budget again) after these delays or the vendor's Retry-After (capped at 10 s),
 * rather than failing a page whose records were already read.
 */
const READ_RETRY_DELAYS_MS = [200, 1000, 3000];

export async function retriedRead<T>(read: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await read();
    } catch (error) {
      const delay = READ_RETRY_DELAYS_MS[retry];
      if (delay === undefined || !(error instanceof ConnectorError) || (error.errorClass !== 'transient' && error.errorClass !== 'rate-limited')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(delay, error.retryAfterMs ?? 0), 10_000)));
    }
  }
}
