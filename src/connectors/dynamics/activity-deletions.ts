import type { ChangesRequest, DeletionPage } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { ConnectorError } from '../errors';
import { ACTIVITY_TABLES } from './activity-tables';
import type { ODataPage, ReadContext } from './changes';
import { pagePrefer } from './changes';

/**
 * Activity deletions: one change-tracking feed per table [D11][D47] (the activitypointer view is
 * not tracked), read one table after another. The cursor holds every table's place: a page link,
 * or the delta link its last read ended with; the scan's `resumeCursor` holds all four delta links.
 * A table whose token expired starts a new baseline alone (`restarted`), the others keep theirs.
 */
interface TableFeed {
  set: string;
  /** Absent: no token yet, take a baseline. */
  link?: string | undefined;
  delta: boolean;
}

interface ActivityDeletionsCursor {
  kind: 'activity-deletions';
  feeds: TableFeed[];
  index: number;
  restarted?: boolean | undefined;
}

/** A cursor of the single-table feed (tasks) made before the other tables were read. */
interface LegacyDeletionsCursor {
  kind: 'deletions';
  link: string;
  delta: boolean;
}

const TRACK_CHANGES = 'odata.track-changes';

function startFeeds(): TableFeed[] {
  return ACTIVITY_TABLES.map((table) => ({ set: table.entitySet, delta: false }));
}

function decode(cursor: string): ActivityDeletionsCursor {
  try {
    return decodeCursor<ActivityDeletionsCursor>('dynamics', cursor, 'activity-deletions');
  } catch (error) {
    // A stored task feed keeps its token; the other tables take their baselines.
    const legacy = decodeCursor<LegacyDeletionsCursor>('dynamics', cursor, 'deletions');
    const feeds = startFeeds().map((feed) => (feed.set === 'tasks' ? { ...feed, link: legacy.link, delta: legacy.delta } : feed));
    if (!legacy.link) throw error;
    return { kind: 'activity-deletions', feeds, index: 0 };
  }
}

export async function listActivityDeletions(context: ReadContext, request: ChangesRequest): Promise<DeletionPage> {
  const cursor: ActivityDeletionsCursor = request.cursor ? decode(request.cursor) : { kind: 'activity-deletions', feeds: startFeeds(), index: 0 };
  const feed = cursor.feeds[cursor.index] as TableFeed;
  const prefer = `${TRACK_CHANGES},${pagePrefer(context.spec, request.limit, context.pageSize)}`;
  const baselineUrl = `${feed.set}?$select=activityid`;
  let page: ODataPage;
  let restarted = cursor.restarted ?? false;
  let followed = feed.link !== undefined;
  try {
    page = await context.http.json<ODataPage>({ method: 'GET', url: feed.link ?? baselineUrl, headers: { prefer } });
  } catch (error) {
    if (!(error instanceof ConnectorError) || error.vendorCode !== context.spec.expiredDeltaTokenCode) throw error;
    // Deletions in the gap cannot be listed; never guess them.
    page = await context.http.json<ODataPage>({ method: 'GET', url: baselineUrl, headers: { prefer } });
    restarted = true;
    followed = false;
  }
  // Dataverse does not say when a row was deleted; the time we learn of it is the best bound.
  const seenAt = new Date().toISOString();
  // Baseline pages hold rows only; delta pages add `$deletedEntity` entries.
  const deletions = page.value
    .filter((row) => (typeof row['@odata.context'] === 'string' && row['@odata.context'].endsWith('/$deletedEntity')) || row.reason === 'deleted')
    .map((row) => ({ externalId: typeof row.id === 'string' ? row.id.toLowerCase() : '', deletedAt: seenAt }));
  const high = followed ? seenAt : new Date(Date.parse(request.since)).toISOString();
  const next = page['@odata.nextLink'];
  const deltaLink = page['@odata.deltaLink'];
  const feeds = [...cursor.feeds];
  if (next) {
    feeds[cursor.index] = { ...feed, link: next, delta: false };
    return { deletions, highWatermark: high, nextCursor: encodeCursor({ ...cursor, feeds, restarted } satisfies ActivityDeletionsCursor) };
  }
  if (!deltaLink) throw new ConnectorError({ provider: 'dynamics', errorClass: 'transient', message: 'change tracking page had neither a next nor a delta link' });
  feeds[cursor.index] = { set: feed.set, link: deltaLink, delta: true };
  const flag = restarted ? { restarted: true } : {};
  if (cursor.index + 1 < feeds.length) {
    return { deletions, highWatermark: high, nextCursor: encodeCursor({ kind: 'activity-deletions', feeds, index: cursor.index + 1, restarted } satisfies ActivityDeletionsCursor), ...flag };
  }
  return { deletions, highWatermark: high, resumeCursor: encodeCursor({ kind: 'activity-deletions', feeds, index: 0 } satisfies ActivityDeletionsCursor), ...flag };
}
