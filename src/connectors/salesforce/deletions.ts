import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ChangesRequest, DeletionPage } from '../connector';
import { nativeObjectName, toIsoInstant } from './record-mapper';
import type { SalesforceSession } from './session';
import { salesforceSpec } from './spec';

/**
 * Deletions from the org's deleted log (getDeleted [S23]) rather than `queryAll IsDeleted = TRUE`:
 * the log keeps records after the Recycle Bin is emptied (purged rows vanish from queryAll), and it
 * is one request per window. It reaches back 15 days; older starts are clamped (BEHAVIOR.md).
 */
export async function listDeletions(
  session: SalesforceSession,
  mapping: CompiledMapping,
  objectType: ObjectType,
  request: ChangesRequest,
  lookbackMs: number,
  now: () => number = Date.now,
): Promise<DeletionPage> {
  const earliest = now() - salesforceSpec.deletedLogDays * 24 * 60 * 60_000 + 60_000;
  const start = new Date(Math.max(Date.parse(request.since) - lookbackMs, earliest));
  const end = new Date(request.until ? Math.min(Date.parse(request.until), now()) : now());
  if (end.getTime() <= start.getTime()) return { deletions: [], highWatermark: new Date(Date.parse(request.since)).toISOString() };
  const objectName = nativeObjectName(mapping, objectType);
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
  const result = await session.call((conn) => conn.sobject(objectName).deleted(start, end));
  const deletions = result.deletedRecords
    .map((record) => ({ externalId: record.id, deletedAt: toIsoInstant(record.deletedDate) }))
    .sort((a, b) => a.deletedAt.localeCompare(b.deletedAt) || a.externalId.localeCompare(b.externalId));
  const since = new Date(Date.parse(request.since)).toISOString();
  const covered = result.latestDateCovered ? toIsoInstant(result.latestDateCovered) : since;
  return { deletions, highWatermark: covered > since ? covered : since };
}
