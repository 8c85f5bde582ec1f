import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

describe('HubSpot connector: bulk path', () => {
  let hs: HubSpotSandbox;
  let connector: HubSpotConnector;

  beforeAll(async () => {
    // Limits off in both the sandbox and the budget: this test is about volume and per-record
    // outcomes (rate.test.ts covers pacing).
    hs = await startHubSpotSandbox({ limits: false });
    hs.admin.defineProperty('contacts', 'score', 'number');
    connector = await createHubSpotConnector({
      connectionId: `hs-bulk-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'private-app', accessToken: hs.credentials.accessToken },
      rateLimits: false,
      mappingOverride: {
        objects: {
          contact: {
            fields: [
              // Sent as text so a bad value reaches the vendor (which checks numbers), not the mapper.
              { canonical: 'custom.score', native: 'score', type: 'string' },
              { canonical: 'custom.legacy', native: 'no_such_property', type: 'string' },
            ],
          },
        },
      },
    });
  });
  afterAll(async () => hs.stop());

  it('upserts 20,000 records in batches of 100 with per-record failures, then exports them', async () => {
    const unknownProperty = new Set([17, 4_321, 12_000, 19_999]);
    const invalidValue = new Set([250, 9_001, 15_555]);
    const inputs: UpsertInput[] = Array.from({ length: 20_000 }, (_, index) => ({
      syncId: `bulk-${index}`,
      fields: {
        firstName: `First${index}`,
        lastName: `Last${index}`,
        email: `bulk${index}@example.com`,
        custom: {
          score: invalidValue.has(index) ? 'not a number' : String(index),
          ...(unknownProperty.has(index) ? { legacy: 'x' } : {}),
        },
      },
    }));
    const started = Date.now();
    const outcomes = await connector.bulk.upsert('contact', inputs);
    const upsertMs = Date.now() - started;
    expect(outcomes).toHaveLength(20_000);
    outcomes.forEach((outcome, index) => expect(outcome.syncId).toBe(`bulk-${index}`));

    const failed = outcomes.flatMap((outcome, index) => (outcome.status === 'failed' ? [{ index, error: outcome.error }] : []));
    expect(failed.map((entry) => entry.index).sort((a, b) => a - b)).toEqual([...unknownProperty, ...invalidValue].sort((a, b) => a - b));
    for (const { index, error } of failed) {
      expect(error.errorClass).toBe('validation');
      expect(error.message).toContain('Property values were not valid');
      expect(error.fieldErrors?.[0]?.field).toBe(unknownProperty.has(index) ? 'no_such_property' : 'score');
    }
    expect(outcomes.filter((outcome) => outcome.status === 'created')).toHaveLength(20_000 - failed.length);
    expect(hs.admin.listRecords('contacts')).toHaveLength(20_000 - failed.length);
    const requestsForUpsert = connector.requestCount;
    // 200 batches plus the splits that isolate 7 refused rows.
    expect(requestsForUpsert).toBeLessThan(320);

    const exported: ExternalRecord[] = [];
    let cursor: string | undefined = await connector.bulk.startExport('contact');
    let pages = 0;
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      // Pages are re-readable: the same cursor gives the same page (a resumed worker).
      if (pages === 3) expect((await connector.bulk.readExportPage(cursor)).records.map((record) => record.externalId)).toEqual(page.records.map((record) => record.externalId));
      exported.push(...page.records);
      cursor = page.nextCursor;
      pages += 1;
    }
    expect(exported).toHaveLength(20_000 - failed.length);
    expect(new Set(exported.map((record) => record.syncId)).size).toBe(exported.length);
    const sample = exported.find((record) => record.syncId === 'bulk-777');
    expect(sample?.fields).toMatchObject({ firstName: 'First777', email: 'bulk777@example.com', custom: { score: '777' } });
    console.log(`bulk: 20,000 upserts in ${upsertMs} ms over ${requestsForUpsert} requests; export ${pages} pages`);

    // Again: every record is found by its sync id, nothing is duplicated.
    const again = await connector.bulk.upsert('contact', inputs.slice(0, 1_000).filter((_, index) => !unknownProperty.has(index) && !invalidValue.has(index)));
    expect(again.every((outcome) => outcome.status === 'updated')).toBe(true);
    expect(hs.admin.listRecords('contacts')).toHaveLength(20_000 - failed.length);
  });

  it('exports changes since T through the search path', async () => {
    const marker = hs.admin.listRecords('contacts').at(-1)?.properties.lastmodifieddate as string;
    const [first] = await connector.bulk.upsert('contact', [{ syncId: `late-${randomUUID()}`, fields: { firstName: 'Late' } }]);
    expect(first?.status).toBe('created');
    let cursor: string | undefined = await connector.bulk.startExport('contact', { since: new Date(Date.parse(marker) + 1).toISOString() });
    const records: ExternalRecord[] = [];
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      records.push(...page.records);
      cursor = page.nextCursor;
    }
    expect(records.map((record) => record.fields.firstName)).toContain('Late');
  });
});
