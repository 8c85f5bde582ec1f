import type { ObjectType } from '../../model/identifiers';
import type { ChangesRequest, DeletionPage } from '../connector';
import { ConnectorError } from '../errors';
import type { ReadContext, ODataPage } from './changes';
import { pagePrefer } from './changes';
import { decodeCursor, encodeCursor } from '../cursor';
import { listActivityDeletions } from './activity-deletions';

/**
 * Deletions come from change tracking [D11]: Dataverse has no "deleted since T" query, only delta
 * links. A scan without a cursor takes a baseline (ids only, paged) and hands back the delta link
 * as `resumeCursor`; later scans follow it and report `$deletedEntity` entries. The delta link is
 * the watermark here, so `since` only dates the baseline.
 */
interface DeletionsCursor {
  kind: 'deletions';
  objectType: ObjectType;
  /** `@odata.nextLink` of a baseline or delta read, or the `@odata.deltaLink` of the last scan. */
  link: string;
  /** Whether `link` is a delta link (a new scan) rather than the next page of one. */
  delta: boolean;
}

const TRACK_CHANGES = 'odata.track-changes';

export async function listDeletions(context: ReadContext, objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> {
  if (objectType === 'activity') return listActivityDeletions(context, request);
  const cursor = request.cursor ? decodeCursor<DeletionsCursor>('dynamics', request.cursor, 'deletions') : undefined;
  if (!cursor) return baseline(context, objectType, request);
  try {
    return await readDelta(context, objectType, request, cursor);
  } catch (error) {
    if (error instanceof ConnectorError && error.vendorCode === context.spec.expiredDeltaTokenCode) {
      // The token outlived change-tracking retention (7 days by default) or tracking was reset:
      // start a new baseline. Deletions in the gap cannot be listed; never guess them.
      return { ...(await baseline(context, objectType, request)), restarted: true };
    }
    throw error;
  }
}

async function baseline(context: ReadContext, objectType: ObjectType, request: ChangesRequest, next?: string): Promise<DeletionPage> {
  const { spec, http } = context;
  const entity = spec.objects[objectType];
  const url = next ?? `${entity.entitySet}?$select=${entity.primaryId}`;
  // Change tracking: https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems [D11]
  const page = await http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `${TRACK_CHANGES},${pagePrefer(spec, request.limit, context.pageSize)}` } });
  return pageResult(objectType, page, [], request.since);
}

async function readDelta(context: ReadContext, objectType: ObjectType, request: ChangesRequest, cursor: DeletionsCursor): Promise<DeletionPage> {
  const { spec, http } = context;
  const page = await http.json<ODataPage>({ method: 'GET', url: cursor.link, headers: { prefer: `${TRACK_CHANGES},${pagePrefer(spec, request.limit, context.pageSize)}` } });
  if (!cursor.delta && page['@odata.deltaLink'] === undefined && page['@odata.nextLink'] === undefined) {
    throw new ConnectorError({ provider: 'dynamics', errorClass: 'transient', message: 'change tracking page had neither a next nor a delta link' });
  }
  // Dataverse does not say when a row was deleted; the time we learn of it is the best bound.
  const seenAt = new Date().toISOString();
  const deletions = page.value
    .filter((row) => (typeof row['@odata.context'] === 'string' && row['@odata.context'].endsWith('/$deletedEntity')) || row.reason === 'deleted')
    .map((row) => ({ externalId: typeof row.id === 'string' ? row.id.toLowerCase() : '', deletedAt: seenAt }));
  return pageResult(objectType, page, deletions, seenAt);
}

function pageResult(objectType: ObjectType, page: ODataPage, deletions: DeletionPage['deletions'], high: string): DeletionPage {
  const next = page['@odata.nextLink'];
  const delta = page['@odata.deltaLink'];
  return {
    deletions,
    highWatermark: new Date(Date.parse(high)).toISOString(),
    ...(next ? { nextCursor: encodeCursor({ kind: 'deletions', objectType, link: next, delta: false } satisfies DeletionsCursor) } : {}),
    ...(delta ? { resumeCursor: encodeCursor({ kind: 'deletions', objectType, link: delta, delta: true } satisfies DeletionsCursor) } : {}),
  };
}
