import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DynamicsConnector } from '../../../src/connectors/dynamics/index';
import type { ExternalRecord, UpsertOutcome } from '../../../src/connectors/connector';
import { STAKEHOLDER_ROLE_ID } from '../../../src/sandbox/dynamics/index';
import { startHarness, syncId, type Harness } from './support';

const idOf = (outcome: UpsertOutcome | undefined): string => (outcome && 'externalId' in outcome ? outcome.externalId : '');
const sorted = (ids: string[]): string[] => [...ids].sort();

describe('Dynamics connector: association slots over HTTP', () => {
  let harness: Harness;
  let connector: DynamicsConnector;
  let company: string;
  let otherCompany: string;
  const contacts: string[] = [];

  // The sandbox's clock, moved by the tests that need writes in different seconds (Dataverse stamps are whole seconds).
  let clock = Date.parse('2026-12-06T10:00:00.000Z');

  beforeAll(async () => {
    harness = await startHarness({ now: () => clock });
    connector = harness.connector;
    const companies = await connector.upsertRecords('company', [
      { syncId: syncId(), fields: { name: 'Contoso' } },
      { syncId: syncId(), fields: { name: 'Fabrikam' } },
    ]);
    company = idOf(companies[0]);
    otherCompany = idOf(companies[1]);
    const people = await connector.upsertRecords(
      'contact',
      ['a', 'b', 'c'].map((name) => ({ syncId: syncId(), fields: { lastName: name } })),
    );
    contacts.push(...people.map(idOf));
  });
  afterAll(async () => harness.stop());

  /** Master rows only: the platform's reciprocal row (record1 = the contact) is the same link. */
  const stakeholderRows = (deal: string) =>
    harness.sandbox.admin.listRecords('connections').filter((row) => row._record1id_value === deal && row._record2roleid_value === STAKEHOLDER_ROLE_ID);

  test('deal: company, primary contact and stakeholders written, read back equal; replaced, then cleared', async () => {
    const [a, b, c] = contacts as [string, string, string];
    const id = syncId();
    const [created] = await connector.upsertRecords('deal', [{ syncId: id, fields: { name: 'Renewal' }, references: { company, primaryContact: a, contacts: [a, b] } }]);
    expect(created?.status).toBe('created');
    const deal = idOf(created);
    expect(stakeholderRows(deal)).toHaveLength(2);
    // Each link is two rows in Dataverse: ours and the reciprocal (record1 = the contact).
    expect(harness.sandbox.admin.listRecords('connections').filter((row) => row._record2id_value === deal)).toHaveLength(2);
    let [read] = await connector.readRecords('deal', [deal]);
    expect(read?.references).toEqual({ company, primaryContact: a, contacts: sorted([a, b]) });

    const [replaced] = await connector.upsertRecords('deal', [{ syncId: id, externalId: deal, fields: {}, references: { company: otherCompany, primaryContact: c, contacts: [b, c] } }]);
    expect(replaced?.status).toBe('updated');
    [read] = await connector.readRecords('deal', [deal]);
    expect(read?.references).toEqual({ company: otherCompany, primaryContact: c, contacts: sorted([b, c]) });

    // A slot absent is untouched; present and empty or null clears.
    await connector.upsertRecords('deal', [{ syncId: id, externalId: deal, fields: { name: 'Renewal 2' } }]);
    [read] = await connector.readRecords('deal', [deal]);
    expect(read?.references.contacts).toEqual(sorted([b, c]));
    await connector.upsertRecords('deal', [{ syncId: id, externalId: deal, fields: {}, references: { company: null, primaryContact: null, contacts: [] } }]);
    [read] = await connector.readRecords('deal', [deal]);
    expect(read?.references).toEqual({ company: null, primaryContact: null, contacts: [] });
    expect(harness.sandbox.admin.listRecords('connections').filter((row) => row._record1id_value === deal || row._record2id_value === deal)).toHaveLength(0);
  });

  test('an association-only change (a stakeholder added in the UI) is found by listChanges, with its stamp and author', async () => {
    const [a, b] = contacts as [string, string];
    const [created] = await connector.upsertRecords('deal', [{ syncId: syncId(), fields: { name: 'Expansion' }, references: { contacts: [a] } }]);
    const deal = idOf(created);
    // A person adds a stakeholder a second later: its stamp, not our write's, is the deal's latest.
    clock += 1_000;
    const link = harness.sandbox.admin.uiCreate('connections', {
      'record1id_opportunity@odata.bind': `/opportunities(${deal})`,
      'record2id_contact@odata.bind': `/contacts(${b})`,
      'record2roleid@odata.bind': `/connectionroles(${STAKEHOLDER_ROLE_ID})`,
    });
    const opportunity = harness.sandbox.admin.getRecord('opportunities', deal);
    // The opportunity's own row is not touched by the link, so only the links phase can find it.
    expect(String(opportunity?.modifiedon) < String(link.modifiedon)).toBe(true);
    const polling = await harness.connect({ lookbackMs: 0 });
    const found: ExternalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await polling.listChanges('deal', { since: String(link.modifiedon), cursor });
      found.push(...page.records);
      cursor = page.nextCursor;
    } while (cursor);
    const record = found.find((candidate) => candidate.externalId === deal);
    expect(record?.references.contacts).toEqual(sorted([a, b]));
    expect(record?.lastModifiedBy).toBe(harness.sandbox.users.uiUserId);
    expect(record?.modifiedAt).toBe(`${String(link.modifiedon).slice(0, 19)}.000Z`);
  });

  test('every read path reports the deal slots; stakeholder queries are one per page, never one per deal', async () => {
    const [a, b, c] = contacts as [string, string, string];
    const inputs = Array.from({ length: 12 }, (_, index) => ({ syncId: syncId(), fields: { name: `Bulk ${index}` }, references: { company, primaryContact: a, contacts: index % 2 === 0 ? [a, b] : [c] } }));
    // bulk.upsert writes the links too.
    const outcomes = await connector.bulk.upsert('deal', inputs);
    const ids = outcomes.map(idOf);
    expect(outcomes.every((outcome) => outcome.status === 'created')).toBe(true);

    const paged = await harness.connect({ pageSize: 5 });
    const before = harness.sandbox.admin.queryCount('connections');
    const exported: ExternalRecord[] = [];
    let pages = 0;
    let cursor: string | undefined = await paged.bulk.startExport('deal');
    while (cursor) {
      const page: { records: ExternalRecord[]; nextCursor?: string | undefined } = await paged.bulk.readExportPage(cursor);
      exported.push(...page.records);
      pages += 1;
      cursor = page.nextCursor;
    }
    expect(harness.sandbox.admin.queryCount('connections') - before).toBe(pages);
    expect(exported.length).toBeGreaterThan(pages);
    ids.forEach((id, index) => {
      const record = exported.find((candidate) => candidate.externalId === id);
      expect(record?.references).toEqual({ company, primaryContact: a, contacts: index % 2 === 0 ? sorted([a, b]) : [c] });
    });

    const changes: ExternalRecord[] = [];
    let next: string | undefined;
    do {
      const page = await paged.listChanges('deal', { since: '2000-01-01T00:00:00.000Z', cursor: next });
      changes.push(...page.records);
      next = page.nextCursor;
    } while (next);
    expect(changes.find((record) => record.externalId === ids[1])?.references).toEqual({ company, primaryContact: a, contacts: [c] });
  });

  test('task: regarding an opportunity is the deal, an account the company; a deal given with a company wins and the company is said', async () => {
    const [deal] = await connector.upsertRecords('deal', [{ syncId: syncId(), fields: { name: 'Regarding' } }]);
    const dealId = idOf(deal);
    const onDeal = syncId();
    const [first] = await connector.upsertRecords('activity', [{ syncId: onDeal, fields: { subject: 'Call' }, references: { deal: dealId } }]);
    const taskId = idOf(first);
    expect(harness.sandbox.admin.getRecord('tasks', taskId)).toMatchObject({ _regardingobjectid_value: dealId, regardingobjecttypecode: 'opportunity' });
    let [read] = await connector.readRecords('activity', [taskId]);
    // A task has no activity parties to hold contacts: the slot is not read.
    // The lookup names a deal: whether the task also concerns a company cannot be read, so that slot is left unread.
    expect(read?.references).toEqual({ deal: dealId });

    await connector.upsertRecords('activity', [{ syncId: onDeal, externalId: taskId, fields: {}, references: { deal: null, company } }]);
    [read] = await connector.readRecords('activity', [taskId]);
    expect(read?.references).toEqual({ company });

    const [both] = await connector.upsertRecords('activity', [{ syncId: onDeal, externalId: taskId, fields: {}, references: { deal: dealId, company } }]);
    expect(both).toMatchObject({ status: 'updated', adjusted: ['references.company'] });
    [read] = await connector.readRecords('activity', [taskId]);
    expect(read?.references).toEqual({ deal: dealId });

    const page = await connector.listChanges('activity', { since: '2000-01-01T00:00:00.000Z' });
    expect(page.records.find((record) => record.externalId === taskId)?.references).toEqual({ deal: dealId });
  });
});
