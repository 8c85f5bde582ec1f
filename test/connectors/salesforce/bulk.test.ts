import { afterEach, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import { startHarness, stopAll } from './sandbox-connector';

afterEach(stopAll);

describe('Salesforce connector: Bulk API 2.0', () => {
  it('upserts 20,000 records through ingest, reports failed rows per record, and exports them through a query job', async () => {
    const { connector, sandbox } = await startHarness({ dailyApiRequests: false });
    const inputs: UpsertInput[] = Array.from({ length: 20_000 }, (_, n) => ({
      syncId: `bulk-${n}`,
      // Every 1,000th record carries an address Salesforce refuses.
      fields: { firstName: `First ${n}`, lastName: `Last ${n}`, email: n % 1_000 === 7 ? `broken-${n}` : `p${n}@example.com` },
    }));
    const started = Date.now();
    const outcomes = await connector.bulk.upsert('contact', inputs);
    const ingestMs = Date.now() - started;
    expect(outcomes).toHaveLength(20_000);
    expect(outcomes.map((outcome) => outcome.syncId)).toEqual(inputs.map((input) => input.syncId));
    const failed = outcomes.filter((outcome) => outcome.status === 'failed');
    expect(failed).toHaveLength(20);
    expect(failed[0]).toMatchObject({
      syncId: 'bulk-7',
      error: { errorClass: 'validation', vendorCode: 'INVALID_EMAIL_ADDRESS', message: expect.stringContaining('email') as unknown, fieldErrors: [{ field: 'email' }] },
    });
    expect(outcomes.filter((outcome) => outcome.status === 'created')).toHaveLength(19_980);
    expect(sandbox.admin.listRecords('Contact')).toHaveLength(19_980);

    // Again: matched by Sync_Id__c, no duplicates.
    const again = await connector.upsertRecords('contact', inputs.slice(0, 6_000)); // > 5,000: routed to Bulk
    expect(again.filter((outcome) => outcome.status === 'updated')).toHaveLength(5_994);
    expect(sandbox.admin.listRecords('Contact')).toHaveLength(19_980);

    const exported: ExternalRecord[] = [];
    let cursor: string | undefined = await connector.bulk.startExport('contact');
    let pages = 0;
    const firstCursor = cursor;
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      exported.push(...page.records);
      cursor = page.nextCursor;
      pages += 1;
    }
    expect(pages).toBe(2); // 10,000 per page
    expect(exported).toHaveLength(19_980);
    expect(new Set(exported.map((record) => record.syncId)).size).toBe(19_980);
    const sample = exported.find((record) => record.syncId === 'bulk-123');
    expect(sample).toMatchObject({ fields: { firstName: 'First 123', lastName: 'Last 123', email: 'p123@example.com', phone: null } });
    // Reading a page again with the same cursor gives the same page.
    const replay = await connector.bulk.readExportPage(firstCursor);
    expect(replay.records.map((record) => record.externalId)).toEqual(exported.slice(0, 10_000).map((record) => record.externalId));
    console.log(`bulk: 20,000 upserted in ${ingestMs} ms, ${failed.length} failed rows, ${exported.length} exported in ${pages} pages`);
  });

  it('fails the whole call when the job fails (unknown column), as validation', async () => {
    const { connector } = await startHarness({}, { mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.nope', native: 'NoSuchField', type: 'string' }] } } } });
    await expect(connector.bulk.upsert('contact', [{ syncId: 'x', fields: { lastName: 'X', custom: { nope: 'y' } } }])).rejects.toMatchObject({
      errorClass: 'validation',
      message: expect.stringContaining('NoSuchField') as unknown,
    });
  });
});
