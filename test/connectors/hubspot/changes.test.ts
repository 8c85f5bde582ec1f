import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangePage, ExternalRecord } from '../../../src/connectors/connector';
import { ConnectorError } from '../../../src/connectors/errors';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../../src/sandbox/hubspot';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A page read as the engine's poll activity makes it: the connector leaves retries to the engine
 * (src/activities/failures.ts), which reads a rate-limited page again after the vendor's delay.
 * Our budget paces search at HubSpot's 5 per second by send time, the portal counts arrivals: on a
 * busy machine a call sent on time can still arrive inside the window, and the answer is a
 * SECONDLY 429, as it would be at HubSpot.
 */
async function asActivity<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.errorClass !== 'rate-limited' || attempt === 5) throw error;
      await sleep(error.retryAfterMs ?? 1000);
    }
  }
}

describe('HubSpot connector: changes and deletions since T', () => {
  let hs: HubSpotSandbox | undefined;
  afterEach(async () => hs?.stop());
  // The portal's clock: real time moved on by the test where it needs writes a few ms apart.
  let skewMs = 0;
  const portalNow = (): number => Date.now() + skewMs;

  async function start(options: HubSpotSandboxOptions, connector: Partial<Parameters<typeof createHubSpotConnector>[0]> = {}): Promise<[HubSpotSandbox, HubSpotConnector]> {
    skewMs = 0;
    hs = await startHubSpotSandbox({ now: portalNow, ...options });
    const created = await createHubSpotConnector({
      connectionId: `hs-changes-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'private-app', accessToken: hs.credentials.accessToken },
      lookbackMs: 0,
      ...connector,
    });
    return [hs, created];
  }

  async function scan(connector: HubSpotConnector, since: string, until?: string, between?: (page: ChangePage, index: number) => void): Promise<{ records: ExternalRecord[]; pages: ChangePage[] }> {
    const records: ExternalRecord[] = [];
    const pages: ChangePage[] = [];
    let cursor: string | undefined;
    do {
      const page = await asActivity(() => connector.listChanges('contact', { since, until, cursor, limit: 200 }));
      pages.push(page);
      records.push(...page.records);
      between?.(page, pages.length - 1);
      cursor = page.nextCursor;
    } while (cursor);
    return { records, pages };
  }

  it('pages through changes modified during paging and split at a window boundary: none lost, none doubled', async () => {
    const [sandbox, connector] = await start({});
    const since = new Date(portalNow()).toISOString();
    skewMs += 5;
    const ids = sandbox.admin.seed({ contacts: 1000 }).contacts;

    const modified = new Map<string, string>();
    const { records, pages } = await scan(connector, since, undefined, (page, index) => {
      if (index !== 0) return;
      // One already returned (the page's last, at the page boundary) and one not yet reached.
      const returned = page.records[page.records.length - 1] as ExternalRecord;
      const ahead = ids[700] as string;
      for (const id of [returned.externalId, ahead]) {
        const after = sandbox.admin.changeAsUser('contacts', id, { jobtitle: 'changed while paging' });
        modified.set(id, after.properties.lastmodifieddate as string);
      }
    });
    expect(pages.length).toBeGreaterThan(4);
    const pairs = records.map((record) => `${record.externalId}@${record.modifiedAt}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(new Set(records.map((record) => record.externalId))).toEqual(new Set(ids));
    for (const [id, stamp] of modified) {
      expect(records.some((record) => record.externalId === id && record.modifiedAt === stamp && record.fields.title === 'changed while paging')).toBe(true);
    }
    // 1000 seeded + the one returned before its change comes back once more; the one ahead only once.
    expect(records).toHaveLength(1001);
    // Oldest first within the scan, and the watermark ends at the newest modstamp.
    const last = pages[pages.length - 1] as ChangePage;
    expect(last.highWatermark).toBe([...modified.values()].sort().at(-1));

    // A boundary at one record's exact modstamp: `until` excludes it, the next window (since = until) starts with it.
    const boundary = sandbox.admin.getRecord('contacts', ids[400] as string)?.properties.lastmodifieddate as string;
    const first = await scan(connector, since, boundary);
    const second = await scan(connector, boundary);
    const firstIds = first.records.map((record) => record.externalId);
    const secondIds = second.records.map((record) => record.externalId);
    const stampOf = (id: string) => sandbox.admin.getRecord('contacts', id)?.properties.lastmodifieddate as string;
    expect(new Set(firstIds)).toEqual(new Set(ids.filter((id) => stampOf(id) < boundary)));
    expect(secondIds[0]).toBe(ids[400]);
    expect(new Set([...firstIds, ...secondIds])).toEqual(new Set(ids));
    expect(firstIds.filter((id) => secondIds.includes(id))).toEqual([]);
  });

  it('lists more than 10,000 changes in one window exactly once (search cap split by modstamp)', async () => {
    // Search limit scaled up in both sandbox and budget (50/s) so the 51 pages take ~2 s, not 25 s.
    const [sandbox, connector] = await start(
      { limits: { search: { max: 50, intervalMs: 1000 } } },
      { rateLimits: [{ name: 'search', limit: 50, windowMs: 1000, slots: 1 }, { name: 'ten-secondly', limit: 100, windowMs: 10_000 }] },
    );
    const since = new Date(portalNow()).toISOString();
    skewMs += 5;
    const ids = sandbox.admin.seed({ contacts: 10_050 }).contacts;
    const { records, pages } = await scan(connector, since);
    expect(records).toHaveLength(10_050);
    expect(new Set(records.map((record) => record.externalId))).toEqual(new Set(ids));
    expect(pages.length).toBeGreaterThanOrEqual(51);
    // Oldest first across the whole window.
    const stamps = records.map((record) => record.modifiedAt);
    expect([...stamps].sort()).toEqual(stamps);
  });

  it('lists records archived since T, with archivedAt, and not those archived before', async () => {
    const [sandbox, connector] = await start({});
    const ids = sandbox.admin.seed({ contacts: 250 }).contacts;
    const before = [ids[3], ids[120]] as string[];
    for (const id of before) sandbox.admin.archive('contacts', id);
    // T on the vendor's clock: just after the last archive before it.
    const since = new Date(Date.parse(sandbox.admin.getRecord('contacts', before[1] as string)?.archivedAt as string) + 1).toISOString();
    skewMs += 5;
    const after = [ids[0], ids[101], ids[202], ids[249]] as string[];
    for (const id of after) sandbox.admin.archive('contacts', id);

    const deletions: { externalId: string; deletedAt: string }[] = [];
    let cursor: string | undefined;
    let watermark: string | undefined;
    do {
      const page = await asActivity(() => connector.listDeletions('contact', { since, cursor }));
      deletions.push(...page.deletions);
      watermark = page.highWatermark;
      cursor = page.nextCursor;
    } while (cursor);
    expect(deletions.map((deletion) => deletion.externalId).sort()).toEqual([...after].sort());
    for (const deletion of deletions) expect(deletion.deletedAt).toBe(sandbox.admin.getRecord('contacts', deletion.externalId)?.archivedAt);
    expect(watermark).toBe(deletions.map((deletion) => deletion.deletedAt).sort().at(-1));
    // Archived records leave the change search.
    const changes = await asActivity(() => connector.listChanges('contact', { since: new Date(0).toISOString() }));
    expect(changes.records.some((record) => after.includes(record.externalId))).toBe(false);
  });

  it('deletes by archiving in batches of 100, idempotently', async () => {
    const [sandbox, connector] = await start({});
    const ids = sandbox.admin.seed({ contacts: 120 }).contacts;
    sandbox.admin.archive('contacts', ids[0] as string);
    const outcomes = await connector.deleteRecords('contact', ids);
    expect(outcomes.map((outcome) => outcome.externalId)).toEqual(ids);
    expect(outcomes.every((outcome) => outcome.status === 'deleted')).toBe(true);
    expect(sandbox.admin.listRecords('contacts', { archived: false })).toEqual([]);
    expect(sandbox.admin.listRecords('contacts', { archived: true })).toHaveLength(120);
    const again = await connector.deleteRecords('contact', ids.slice(0, 2));
    expect(again.map((outcome) => outcome.status)).toEqual(['deleted', 'deleted']);
  });
});
