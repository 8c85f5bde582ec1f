import { afterEach, describe, expect, it } from 'vitest';
import type { ChangePage, ExternalRecord } from '../../../src/connectors/connector';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

const stamp = (sandbox: ZohoSandbox, id: string): string => new Date(Date.parse(String(sandbox.admin.getRecord('Contacts', id)?.Modified_Time))).toISOString();

describe('Zoho connector: changes and deletions since T', () => {
  let zoho: ZohoSandbox | undefined;
  let connector: ZohoConnector | undefined;
  afterEach(async () => {
    await connector?.close();
    await zoho?.stop();
  });

  async function start(now?: () => number): Promise<[ZohoSandbox, ZohoConnector]> {
    zoho = await startZohoSandbox({ limits: false, ...(now ? { now } : {}) });
    connector = await connectTo(zoho, { lookbackMs: 0 });
    return [zoho, connector];
  }

  async function scan(c: ZohoConnector, since: string, until?: string, between?: (page: ChangePage, index: number) => void | Promise<void>): Promise<{ records: ExternalRecord[]; pages: ChangePage[] }> {
    const records: ExternalRecord[] = [];
    const pages: ChangePage[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.listChanges('contact', { since, until, cursor, limit: 200 });
      pages.push(page);
      records.push(...page.records);
      await between?.(page, pages.length - 1);
      cursor = page.nextCursor;
    } while (cursor);
    return { records, pages };
  }

  it('pages through a burst of 1,000 records written within a second, modified while paging: none lost, none twice with one stamp', async () => {
    // The sandbox's clock, set by the test (seconds in the past, which a scan treats as settled):
    // the burst stands still at the start of one second (its 1,000 stamps a millisecond apart, all
    // in that second, however long seeding takes on a busy machine), the changes land two seconds later.
    const burstSecond = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    let now = burstSecond - 2000;
    const [sandbox, c] = await start(() => now);
    const since = new Date(now).toISOString();
    now = burstSecond;
    const ids = sandbox.admin.seed({ Contacts: 1000 }).Contacts;
    expect(new Set(ids.map((id) => stamp(sandbox, id)))).toEqual(new Set([new Date(burstSecond).toISOString()]));
    const modified = new Set<string>();
    const { records, pages } = await scan(c, since, undefined, async (page, index) => {
      if (index !== 0) return;
      // Modified stamps are whole seconds: change in a later second than the burst.
      now = burstSecond + 2000;
      const returned = page.records[page.records.length - 1] as ExternalRecord;
      for (const id of [returned.externalId, ids[700] as string]) {
        sandbox.admin.changeAsUser('Contacts', id, { Title: 'changed while paging' });
        modified.add(id);
      }
    });
    expect(pages.length).toBeGreaterThan(5);
    // Cursors cross Temporal history: the burst walk keeps them to about a page of ids.
    expect(Math.max(...pages.map((page) => page.nextCursor?.length ?? 0))).toBeLessThan(32 * 1024);
    const pairs = records.map((record) => `${record.externalId}@${record.modifiedAt}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(new Set(records.map((record) => record.externalId))).toEqual(new Set(ids));
    // 1,000 + the one returned before its change, once more with its new stamp; the one ahead once.
    expect(records).toHaveLength(1001);
    for (const id of modified) {
      expect(records.some((record) => record.externalId === id && record.modifiedAt === stamp(sandbox, id) && record.fields.title === 'changed while paging')).toBe(true);
    }
    // The watermark ends at the newest stamp the scan returned.
    expect(pages.at(-1)?.highWatermark).toBe([...modified].map((id) => stamp(sandbox, id)).sort().at(-1));
  });

  it('keyset-pages records spread over seconds, oldest first; `until` excludes its second, the next window starts there', async () => {
    // The sandbox's clock, set by the test (seconds in the past, which a scan treats as settled):
    // each wave of writes inside one second of its own, however long seeding takes on a busy machine.
    const wholeSecond = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    let now = wholeSecond;
    const [sandbox, c] = await start(() => now);
    const since = new Date(now).toISOString();
    const ids: string[] = [];
    for (let wave = 1; wave <= 3; wave += 1) {
      now = wholeSecond + wave * 1000;
      ids.push(...sandbox.admin.seed({ Contacts: 150 }).Contacts);
    }
    const { records } = await scan(c, since);
    expect(records.map((record) => record.externalId)).toEqual(ids);
    const stamps = records.map((record) => record.modifiedAt);
    expect([...stamps].sort()).toEqual(stamps);

    const boundary = stamp(sandbox, ids[150] as string);
    const first = await scan(c, since, boundary);
    const second = await scan(c, boundary);
    expect(first.records.map((record) => record.externalId)).toEqual(ids.slice(0, 150));
    expect(second.records.map((record) => record.externalId)).toEqual(ids.slice(150));
  });

  it('lists deletions since T from the recycle bin and purged ones, with deleted_time; not those before T', async () => {
    // Deletion stamps are whole seconds: the sandbox's clock puts the deletions before T and
    // after it in seconds of their own.
    const start0 = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    let now = start0;
    const [sandbox, c] = await start(() => now);
    const ids = sandbox.admin.seed({ Contacts: 20 }).Contacts;
    sandbox.admin.deleteAsUser('Contacts', ids[3] as string);
    const since = new Date(start0 + 2000).toISOString();
    now = start0 + 4000;
    const after = [ids[0], ids[5], ids[19]] as string[];
    const outcomes = await c.deleteRecords('contact', after.slice(0, 2));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['deleted', 'deleted']);
    sandbox.admin.deleteAsUser('Contacts', after[2] as string);
    // Purged from the recycle bin: still a deletion to list.
    sandbox.admin.emptyRecycleBin('Contacts');
    const deletions: { externalId: string; deletedAt: string }[] = [];
    let cursor: string | undefined;
    let watermark: string | undefined;
    do {
      const page = await c.listDeletions('contact', { since, cursor, limit: 2 });
      deletions.push(...page.deletions);
      watermark = page.highWatermark;
      cursor = page.nextCursor;
    } while (cursor);
    expect(deletions.map((deletion) => deletion.externalId).sort()).toEqual([...after].sort());
    const recorded = new Map(sandbox.admin.deletedRecords('Contacts').map((entry) => [entry.id, new Date(Math.floor(entry.deletedAt / 1000) * 1000).toISOString()]));
    for (const deletion of deletions) expect(deletion.deletedAt).toBe(recorded.get(deletion.externalId));
    expect(watermark).toBe(deletions.map((deletion) => deletion.deletedAt).sort().at(-1));
    // Deleted records leave the change feed.
    const changes = await scan(c, new Date(0).toISOString());
    expect(changes.records.some((record) => after.includes(record.externalId))).toBe(false);
  });
});
