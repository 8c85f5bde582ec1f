import { afterEach, describe, expect, it } from 'vitest';
import type { ExternalRecord } from '../../../src/connectors/connector';
import { startHarness, stopAll } from './sandbox-connector';

afterEach(stopAll);

describe('Salesforce connector: changes and deletions since a watermark', () => {
  it('pages through changes with edits during paging and records on the watermark: none lost, none doubled', async () => {
    const { connector, sandbox } = await startHarness({}, { lookbackMs: 0 });
    const before = sandbox.admin.seed({ contacts: 30 }).Contact ?? [];
    // The watermark: the newest modstamp already applied. The record carrying it must come back
    // (>=), as must everything after it.
    const onWatermark = String(before[29]);
    const since = new Date(String(sandbox.admin.getRecord('Contact', onWatermark)?.SystemModstamp)).toISOString();
    const fresh = sandbox.admin.seed({ contacts: 120 }).Contact ?? [];

    const seen: ExternalRecord[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let highWatermark: string | undefined;
    do {
      const page = await connector.listChanges('contact', { since, cursor, limit: 25 });
      seen.push(...page.records);
      cursor = page.nextCursor;
      highWatermark = page.highWatermark;
      pages += 1;
      if (pages === 2) {
        // Edited between pages: one already returned, one not yet reached, one before the window.
        sandbox.admin.editAsUser('Contact', String(seen[0]?.externalId), { Title: 'Edited after it was returned' });
        sandbox.admin.editAsUser('Contact', String(fresh[100]), { Title: 'Edited before it was reached' });
        sandbox.admin.editAsUser('Contact', String(before[0]), { Title: 'Edited, was outside the window' });
      }
    } while (cursor);

    const pairs = seen.map((record) => `${record.externalId}@${record.modifiedAt}`);
    expect(new Set(pairs).size).toBe(pairs.length); // none doubled
    const ids = new Set(seen.map((record) => record.externalId));
    for (const id of [onWatermark, ...fresh, String(before[0])]) expect(ids.has(id)).toBe(true); // none lost
    expect(ids.size).toBe(1 + 120 + 1);
    // The record edited after it was returned comes back once more, with its new modstamp and value.
    const editedTwice = seen.filter((record) => record.externalId === seen[0]?.externalId);
    expect(editedTwice).toHaveLength(2);
    expect(editedTwice[1]?.fields.title).toBe('Edited after it was returned');
    expect(seen.filter((record) => record.externalId === String(fresh[100]))).toHaveLength(1);
    expect(seen.find((record) => record.externalId === String(fresh[100]))?.fields.title).toBe('Edited before it was reached');
    expect(pages).toBeGreaterThanOrEqual(5);
    const newest = seen.map((record) => record.modifiedAt).sort().at(-1);
    expect(highWatermark).toBe(newest);
    // Oldest first.
    const stamps = seen.map((record) => record.modifiedAt);
    expect([...stamps].sort()).toEqual(stamps);
  });

  it('reaches back lookbackMs before the watermark and honours until', async () => {
    const { connector, sandbox } = await startHarness({}, { lookbackMs: 60_000 });
    const ids = sandbox.admin.seed({ companies: 5 }).Account ?? [];
    const stamp = (id: string | undefined): string => new Date(String(sandbox.admin.getRecord('Account', String(id))?.SystemModstamp)).toISOString();
    const page = await connector.listChanges('company', { since: stamp(ids[4]), until: stamp(ids[3]) });
    // Lookback brings ids[0..2] back; `until` is exclusive, so ids[3] and ids[4] stay out.
    expect(page.records.map((record) => record.externalId)).toEqual(ids.slice(0, 3));
    expect(page.nextCursor).toBeUndefined();
  });

  it('lists soft deletions (Recycle Bin) and purged records since the watermark', async () => {
    // getDeleted covers whole seconds only (jsforce sends second precision; the real API minutes):
    // deletes in the current second show up once it has passed. The org's clock, set here, puts
    // them in a second a few seconds back and then moves to the next one, instead of waiting.
    const second = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    let orgNow = second;
    const { connector, sandbox, connect } = await startHarness({ now: () => orgNow });
    const ids = sandbox.admin.seed({ deals: 4 }).Opportunity ?? [];
    sandbox.admin.deleteRecord('Opportunity', String(ids[0]));
    orgNow = second + 500;
    const since = new Date(orgNow).toISOString();
    sandbox.admin.deleteRecord('Opportunity', String(ids[1]));
    sandbox.admin.deleteRecord('Opportunity', String(ids[2]));
    sandbox.admin.purgeRecord('Opportunity', String(ids[2]));
    orgNow = second + 1_000;
    const page = await connector.listDeletions('deal', { since });
    const deleted = page.deletions.map((deletion) => deletion.externalId);
    // The lookback (default 5 min) returns the earlier delete too; listing it again is harmless.
    expect(new Set(deleted)).toEqual(new Set([ids[0], ids[1], ids[2]]));
    for (const deletion of page.deletions) expect(deletion.deletedAt).toMatch(/Z$/);
    expect(page.highWatermark >= since).toBe(true);
    // From the new watermark (no lookback) nothing is left to report.
    const none = await (await connect({ lookbackMs: 0 })).listDeletions('deal', { since: page.highWatermark });
    expect(none.deletions).toEqual([]);
  });

  it('deletes into the Recycle Bin in collections of 200; ids already gone answer not-found, never an error', async () => {
    const { connector, sandbox } = await startHarness();
    const ids = sandbox.admin.seed({ contacts: 205 }).Contact ?? [];
    sandbox.admin.deleteRecord('Contact', String(ids[0]));
    const outcomes = await connector.deleteRecords('contact', ids);
    expect(outcomes.map((outcome) => outcome.externalId)).toEqual(ids);
    expect(outcomes[0]).toEqual({ externalId: ids[0], status: 'not-found' });
    expect(outcomes.slice(1).every((outcome) => outcome.status === 'deleted')).toBe(true);
    expect(sandbox.admin.listRecords('Contact')).toEqual([]);
    // A retry of the same call (a lost answer) changes nothing and still succeeds.
    const again = await connector.deleteRecords('contact', ids.slice(0, 3));
    expect(again.map((outcome) => outcome.status)).toEqual(['not-found', 'not-found', 'not-found']);
  });
});
