import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { ConnectorError } from '../errors';
import { chunked, keepMatching, nativeKeyField, wantedValues, type UniqueKeyQuery } from '../unique-keys';
import { mapLimited } from '../map-limited';
import type { PipedriveContext } from './context';
import { modstampOf, toExternalRecord, type PipedriveRecord } from './record-mapper';
import { DEAL_INCLUDE_FIELDS, participantsOf } from './participants';
import { CUSTOM_FIELD_KEY, PIPEDRIVE_API, PIPEDRIVE_OBJECTS, pipedriveSpec } from './spec';

/** Single GETs run this many at a time. */
const GETS_IN_FLIGHT = 4;

const recordsPath = (objectType: ObjectType): string => `${PIPEDRIVE_API.recordsPath}/${PIPEDRIVE_OBJECTS[objectType].entity}`;

/** Deals are read with their participant count, so a read knows which deals' participants to list. */
const includeFor = (objectType: ObjectType): Record<string, string> => (objectType === 'deal' ? DEAL_INCLUDE_FIELDS : {});

/** Raw v2 records by id: a GET each for a few (2 tokens each), else `?ids=` lists of 100 (20 tokens each). Missing or deleted ids are absent. */
export async function readRaw(ctx: PipedriveContext, objectType: ObjectType, externalIds: readonly string[]): Promise<PipedriveRecord[]> {
  const ids = [...new Set(externalIds.filter((id) => /^\d+$/.test(id)))];
  if (ids.length <= pipedriveSpec.paging.singleReadsUpTo) {
    const found = await mapLimited(ids, GETS_IN_FLIGHT, async (id) => {
      try {
        // https://developers.pipedrive.com/docs/api/v2/Persons#getPerson (GET /api/v2/{entity}/{id})
        return (await ctx.http.json<PipedriveRecord>({ method: 'GET', path: `${recordsPath(objectType)}/${id}`, query: includeFor(objectType), kind: 'get' })).data;
      } catch (error) {
        if (error instanceof ConnectorError && error.errorClass === 'not-found') return undefined;
        throw error;
      }
    });
    return found.filter((record): record is PipedriveRecord => record !== undefined);
  }
  const records: PipedriveRecord[] = [];
  for (const chunk of chunked(ids, pipedriveSpec.paging.idsPerList)) {
    const answer = await ctx.http.json<PipedriveRecord[]>({ method: 'GET', path: recordsPath(objectType), query: { ids: chunk.join(','), limit: pipedriveSpec.paging.maxLimit, ...includeFor(objectType) }, kind: 'list' });
    records.push(...(answer.data ?? []));
  }
  return records;
}

export async function readRecords(ctx: PipedriveContext, objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const syncIdKey = await ctx.syncIdKeys.keyFor(objectType);
  const raw = await readRaw(ctx, objectType, externalIds);
  const participants = objectType === 'deal' ? await participantsOf(ctx, raw) : undefined;
  const order = new Map(externalIds.map((id, index) => [id, index]));
  // The stamp read is the version an update checks its overwritten edits against (overwritten-edits.ts).
  return raw.map((record) => ({ ...toExternalRecord(ctx.mapping, objectType, record, syncIdKey, participants?.get(record.id)), version: modstampOf(record) })).sort((a, b) => (order.get(a.externalId) ?? 0) - (order.get(b.externalId) ?? 0));
}

interface SearchItem {
  item: { id: number };
}

/** Ids of records whose `fields` match `term` exactly (`GET /api/v2/{entity}/search`), every page [P1]. */
export async function searchIds(ctx: PipedriveContext, objectType: ObjectType, term: string, fields: 'email' | 'custom_fields'): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    // https://developers.pipedrive.com/docs/api/v2/Persons#searchPersons (exact_match is case-insensitive)
    const answer: { data: { items?: SearchItem[] } | null; additional_data?: { next_cursor?: string | null } | null } = await ctx.http.json<{ items?: SearchItem[] }>({
      method: 'GET',
      path: `${recordsPath(objectType)}/search`,
      query: { term, fields, exact_match: 'true', limit: pipedriveSpec.paging.maxLimit, cursor },
      kind: 'search',
    });
    ids.push(...(answer.data?.items ?? []).map((entry) => String(entry.item.id)));
    cursor = answer.additional_data?.next_cursor ?? undefined;
  } while (cursor);
  return ids;
}

/** Every live record of an entity, optionally changed since `updatedSince` (500 per page, 20 tokens). */
export async function scanAll(ctx: PipedriveContext, objectType: ObjectType, updatedSince?: string): Promise<PipedriveRecord[]> {
  const records: PipedriveRecord[] = [];
  let cursor: string | undefined;
  do {
    const answer = await ctx.http.json<PipedriveRecord[]>({
      method: 'GET',
      path: recordsPath(objectType),
      query: { limit: pipedriveSpec.paging.maxLimit, cursor, ...(updatedSince ? { updated_since: updatedSince, sort_by: 'update_time' } : {}) },
      kind: 'list',
    });
    records.push(...(answer.data ?? []));
    cursor = answer.additional_data?.next_cursor ?? undefined;
  } while (cursor);
  return records;
}

/**
 * First-sync matching. A person's email and any custom field (e.g. a tenant's domain field) are
 * searched exactly, one search per value (40 tokens, 10 per 2 s); the website (a company's
 * domain by host) is not searchable, and above `searchesBeforeScan` values a full scan (20 tokens
 * per 500 records) is cheaper: both scan and filter here. References are read (they come with the record).
 */
export async function findByUniqueKeys(ctx: PipedriveContext, objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]> {
  const key = nativeKeyField('pipedrive', ctx.mapping, objectType, keys.field);
  const wanted = wantedValues(keys);
  const syncIdKey = await ctx.syncIdKeys.keyFor(objectType);
  if (wanted.length === 0) return [];
  const searchField = key.via !== 'value' ? undefined : key.native === 'email' && objectType === 'contact' ? 'email' : CUSTOM_FIELD_KEY.test(key.native) && PIPEDRIVE_OBJECTS[objectType].searchable ? 'custom_fields' : undefined;
  let raw: PipedriveRecord[];
  if (searchField && wanted.length <= pipedriveSpec.paging.searchesBeforeScan) {
    const ids = new Set<string>();
    for (const value of wanted) for (const id of await searchIds(ctx, objectType, value, searchField)) ids.add(id);
    raw = await readRaw(ctx, objectType, [...ids]);
  } else {
    raw = await scanAll(ctx, objectType);
  }
  const records = raw.map((record) => toExternalRecord(ctx.mapping, objectType, record, syncIdKey));
  return keepMatching(records, keys.field, new Set(wanted));
}
