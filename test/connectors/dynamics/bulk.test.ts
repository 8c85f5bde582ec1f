import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import { startHarness, syncId, type Harness } from './support';

describe('Dynamics connector: bulk $batch write and paged export', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness({ serviceProtection: { enabled: false } });
  });
  afterAll(async () => harness.stop());

  test('20,000 records through $batch; bad rows fail alone with the vendor message; export reads them all', async () => {
    const total = 20_000;
    const bad = new Set([17, 9_999, 19_998]);
    const inputs: UpsertInput[] = Array.from({ length: total }, (_, index) => ({
      syncId: syncId(),
      fields: { firstName: 'Bulk', lastName: `row-${index}`, email: `row-${index}@bulk.example` },
      // A malformed lookup id is refused by the Web API (400) for that part only.
      ...(bad.has(index) ? { references: { company: 'not-a-guid' } } : {}),
    }));
    const before = harness.sandbox.counters.snapshot().requests['POST /api/data/v9.2/*'] ?? 0;
    const outcomes = await harness.connector.bulk.upsert('contact', inputs);
    const batches = (harness.sandbox.counters.snapshot().requests['POST /api/data/v9.2/*'] ?? 0) - before;

    expect(outcomes).toHaveLength(total);
    expect(batches).toBe(20);
    outcomes.forEach((outcome, index) => expect(outcome.syncId).toBe(inputs[index]?.syncId));
    const failed = outcomes.flatMap((outcome, index) => (outcome.status === 'failed' ? [{ index, error: outcome.error }] : []));
    expect(failed.map((entry) => entry.index)).toEqual([...bad]);
    for (const { error } of failed) {
      expect(error).toMatchObject({ errorClass: 'validation', status: 400, message: "Invalid entity reference '/accounts(not-a-guid)'." });
    }
    expect(outcomes.filter((outcome) => outcome.status === 'created')).toHaveLength(total - bad.size);

    const cursor = await harness.connector.bulk.startExport('contact');
    const exported: ExternalRecord[] = [];
    let pages = 0;
    for (let next: string | undefined = cursor; next; pages += 1) {
      const page = await harness.connector.bulk.readExportPage(next);
      exported.push(...page.records);
      next = page.nextCursor;
    }
    expect(pages).toBe(4);
    expect(exported).toHaveLength(total - bad.size);
    expect(new Set(exported.map((record) => record.externalId)).size).toBe(total - bad.size);
    const bySyncId = new Map(exported.map((record) => [record.syncId, record]));
    expect(bySyncId.get(inputs[123]?.syncId ?? '')?.fields).toMatchObject({ lastName: 'row-123', email: 'row-123@bulk.example' });
  });

  test('a write on top of a copy read before someone edited the record is refused (If-Match ETag), and goes through on the fresh copy', async () => {
    const [created] = await harness.connector.upsertRecords('contact', [{ syncId: syncId(), fields: { lastName: 'Versioned', email: 'versioned@bulk.example' } }]);
    const externalId = created && 'externalId' in created ? created.externalId : '';
    const [read] = await harness.connector.readRecords('contact', [externalId]);
    expect(read?.version).toMatch(/^W\/"\d+"$/);
    // A person edits the record between our read and our write.
    harness.sandbox.admin.uiUpdate('contacts', externalId, { jobtitle: 'Edited by a person' });
    const write = (version: string | undefined) => harness.connector.upsertRecords('contact', [{ syncId: read?.syncId ?? '', externalId, fields: { firstName: 'Ours' }, ifVersion: version }]);
    expect(await write(read?.version)).toEqual([{ syncId: read?.syncId, status: 'version-changed' }]);
    const [after] = await harness.connector.readRecords('contact', [externalId]);
    expect(after?.fields).toMatchObject({ title: 'Edited by a person', lastName: 'Versioned' });
    expect(after?.fields.firstName ?? null).toBeNull();
    expect(after?.version).not.toBe(read?.version);
    expect((await write(after?.version))[0]).toMatchObject({ status: 'updated', externalId });
    const [final] = await harness.connector.readRecords('contact', [externalId]);
    expect(final?.fields).toMatchObject({ title: 'Edited by a person', firstName: 'Ours' });
  });

  test('an export page read twice returns the same records (safe to retry)', async () => {
    const cursor = await harness.connector.bulk.startExport('contact', { since: new Date(Date.now() - 3600_000).toISOString() });
    const first = await harness.connector.bulk.readExportPage(cursor);
    const again = await harness.connector.bulk.readExportPage(cursor);
    expect(again.records.map((record) => record.externalId)).toEqual(first.records.map((record) => record.externalId));
    expect(first.nextCursor).toBeDefined();
  });

  test('describeFields lists the sync-id key and mapped columns with picklist values', async () => {
    const fields = await harness.connector.describeFields('deal');
    expect(fields).toContainEqual(expect.objectContaining({ name: 'crm_syncid', externalId: true }));
    expect(fields.find((field) => field.name === 'crm_dealstage')?.picklistValues).toEqual(expect.arrayContaining(['100000000', '100000005']) as unknown);
  });
});
