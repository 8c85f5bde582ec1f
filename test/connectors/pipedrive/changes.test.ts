import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord } from '../../../src/connectors/connector';
import type { PipedriveConnector } from '../../../src/connectors/pipedrive';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

describe('Pipedrive connector: changes, deletions and export through the v2 cursor', () => {
  let pd: PipedriveSandbox;
  let connector: PipedriveConnector;
  // The company's clock: real time, moved on where a test needs a change in a later second.
  let skewMs = 0;
  const companyNow = (): number => Date.now() + skewMs;

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false, now: companyNow });
    connector = await connectorFor(pd, { lookbackMs: 60_000 });
  });
  afterAll(async () => {
    await connector.close();
    await pd.stop();
  });

  it('pages oldest first; a record modified mid-scan comes again with its new modstamp; nothing is lost or doubled', async () => {
    const since = new Date(companyNow()).toISOString();
    const ids = Array.from({ length: 12 }, (_, index) => pd.admin.createAsUser('persons', { name: `Person ${index}` }).id as number);
    const pages: ExternalRecord[][] = [];
    let cursor: string | undefined;
    let watermark: string | undefined;
    do {
      const page = await connector.listChanges('contact', { since, cursor, limit: 5 });
      pages.push(page.records);
      watermark = page.highWatermark;
      if (pages.length === 1) {
        // Past the second of every record so far: the change sorts after all of them.
        skewMs += 1_050;
        pd.admin.changeAsUser('persons', ids[0] as number, { job_title: 'Moved' });
      }
      cursor = page.nextCursor;
    } while (cursor);
    const all = pages.flat();
    expect(all.map((record) => record.externalId).sort()).toEqual([...ids.map(String), String(ids[0])].sort());
    const moved = all.filter((record) => record.externalId === String(ids[0]));
    expect(moved).toHaveLength(2);
    expect(moved[1]?.fields.title).toBe('Moved');
    expect(moved[1]!.modifiedAt > moved[0]!.modifiedAt).toBe(true);
    // No (id, modstamp) pair twice.
    expect(new Set(all.map((record) => `${record.externalId}@${record.modifiedAt}`)).size).toBe(all.length);
    expect(watermark).toBe(moved[1]?.modifiedAt);
  });

  it('reaches back the lookback before the watermark and stops at until', async () => {
    const created = pd.admin.createAsUser('organizations', { name: 'Earlier' });
    const watermark = new Date(companyNow() + 5_000).toISOString();
    const page = await connector.listChanges('company', { since: watermark });
    expect(page.records.map((record) => record.externalId)).toContain(String(created.id));
    expect(page.highWatermark).toBe(watermark);
    const none = await connector.listChanges('company', { since: watermark, until: '2020-01-01T00:00:00.000Z' });
    expect(none.records).toEqual([]);
  });

  it('lists deleted persons and deals since a watermark (deals by status=deleted)', async () => {
    const since = new Date(companyNow()).toISOString();
    const person = pd.admin.createAsUser('persons', { name: 'Gone soon' });
    const deal = pd.admin.createAsUser('deals', { title: 'Gone soon' });
    pd.admin.deleteAsUser('persons', person.id as number);
    pd.admin.deleteAsUser('deals', deal.id as number);
    expect((await connector.listDeletions('contact', { since })).deletions.map((entry) => entry.externalId)).toEqual([String(person.id)]);
    expect((await connector.listDeletions('deal', { since })).deletions.map((entry) => entry.externalId)).toEqual([String(deal.id)]);
  });

  it('exports every record through re-readable cursor pages (no bulk API at Pipedrive)', async () => {
    pd.admin.seed({ deals: 1_100 });
    const first = await connector.bulk.startExport('deal');
    const exported = new Set<string>();
    let cursor: string | undefined = first;
    let pages = 0;
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      // Re-reading the same cursor gives the same page (a killed worker resumes from its last cursor).
      if (pages === 1) expect((await connector.bulk.readExportPage(cursor)).records.map((record) => record.externalId)).toEqual(page.records.map((record) => record.externalId));
      for (const record of page.records) exported.add(record.externalId);
      cursor = page.nextCursor;
      pages += 1;
    }
    const live = pd.admin.listRecords('deals').filter((record) => record.is_deleted !== true);
    expect(exported.size).toBe(live.length);
    expect(pages).toBe(Math.ceil(live.length / 500));
  });
});
