/**
 * Issue 14, acceptance 3: "Backfill of 5,000 deals with their companies, contacts and activities:
 * every association present on the target, none dangling, counts per association type equal on
 * both sides."
 *
 * A Salesforce org seeded with companies, contacts (each at a company), deals (each at a company,
 * with two contact roles, the first primary) and tasks (each on a deal and a contact), backfilled
 * into HubSpot object by object in dependency order, the connection workflows never started. Every
 * link is then compared as canonical ids on both sides, per association type.
 *
 *   Reduced (500 deals, the default, what `npm test` runs):
 *     npx vitest run test/e2e/backfill-graph.test.ts
 *   Full size:
 *     BACKFILL_GRAPH_DEALS=5000 npx vitest run test/e2e/backfill-graph.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackfill } from '../../src/client/backfill';
import type { ObjectType } from '../../src/model/identifiers';
import { PendingReferencesRepository } from '../../src/store/pending-references-repository';
import { RecordLinksRepository } from '../../src/store/record-links-repository';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

const positiveInt = (text: string | undefined, fallback: number): number => {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
};
const DEALS = positiveInt(process.env.BACKFILL_GRAPH_DEALS, 500);
const COMPANIES = Math.max(10, Math.ceil(DEALS / 25));
const CONTACTS = Math.max(20, Math.ceil(DEALS / 2));
const ACTIVITIES = DEALS;


describe(`backfill of ${DEALS.toLocaleString('en')} deals with their companies, contacts and activities, Salesforce -> HubSpot`, () => {
  let h: SyncHarness;
  let links: RecordLinksRepository;

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      sync: { objects: ['company', 'contact', 'deal', 'activity'], pollIntervalMs: 3_600_000 },
      providerConnectorOptions: { salesforce: { bulk: { exportPageSize: 1_000, pollIntervalMs: 50 } } },
    });
    links = new RecordLinksRepository(h.db.pool);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('writes every association, none dangling, the same count per association type on both sides', async () => {
    const sf = h.salesforce!.sandbox.admin;
    const hs = h.hubspot!.sandbox.admin;
    const seeded = sf.seed({ companies: COMPANIES, contacts: CONTACTS, deals: DEALS });
    const contacts = seeded.Contact ?? [];
    const deals = seeded.Opportunity ?? [];
    // Links a person would make: two roles per deal (the first primary), a task on each deal and one of its contacts.
    deals.forEach((deal, index) => {
      sf.createAsUser('OpportunityContactRole', { OpportunityId: deal, ContactId: contacts[index % contacts.length], IsPrimary: true });
      sf.createAsUser('OpportunityContactRole', { OpportunityId: deal, ContactId: contacts[(index + 1) % contacts.length] });
    });
    for (let index = 0; index < ACTIVITIES; index += 1) {
      sf.createAsUser('Task', { Subject: `Follow-up #${index}`, Status: 'Not Started', Priority: 'Normal', WhatId: deals[index % deals.length], WhoId: contacts[index % contacts.length] });
    }

    for (const objectType of ['company', 'contact', 'deal', 'activity'] as const) {
      const result = await (await startBackfill(h.client, h.taskQueue, { tenantId: h.tenantId, connectionId: h.salesforce!.id, objectType, pagesPerRun: 3 })).result();
      expect(result, objectType).toMatchObject({ state: 'completed', failed: { [h.hubspot!.id]: 0 }, failures: [] });
    }
    expect(await new PendingReferencesRepository(h.db.pool).list({ tenantId: h.tenantId })).toEqual([]);

    // Salesforce's links, as canonical pairs per association type.
    const sfCanonical = async (objectType: ObjectType, ids: readonly string[]) => links.canonicalIdsOf(h.salesforce!.id, objectType, ids.map(String));
    const sfRecords = (type: 'Contact' | 'Opportunity' | 'Task' | 'OpportunityContactRole') => sf.listRecords(type);
    const pairs = async (holderType: ObjectType, relatedType: ObjectType, rows: readonly (readonly [unknown, unknown])[]): Promise<Set<string>> => {
      const holders = await sfCanonical(holderType, rows.map(([holder]) => String(holder)));
      const related = await sfCanonical(relatedType, rows.map(([, other]) => String(other)));
      return new Set(rows.map(([holder, other]) => `${holders.get(String(holder)) ?? `unlinked:${String(holder)}`}>${related.get(String(other)) ?? `unlinked:${String(other)}`}`));
    };
    const withValue = <T extends Record<string, unknown>>(rows: T[], field: string) => rows.filter((row) => typeof row[field] === 'string' && row[field] !== '');
    const expected: Record<string, Set<string>> = {
      'contact>company': await pairs('contact', 'company', withValue(sfRecords('Contact'), 'AccountId').map((row) => [row.Id, row.AccountId] as const)),
      'deal>company': await pairs('deal', 'company', withValue(sfRecords('Opportunity'), 'AccountId').map((row) => [row.Id, row.AccountId] as const)),
      'deal>contact': await pairs('deal', 'contact', sfRecords('OpportunityContactRole').map((row) => [row.OpportunityId, row.ContactId] as const)),
      'activity>deal': await pairs('activity', 'deal', withValue(sfRecords('Task'), 'WhatId').map((row) => [row.Id, row.WhatId] as const)),
      'activity>contact': await pairs('activity', 'contact', withValue(sfRecords('Task'), 'WhoId').map((row) => [row.Id, row.WhoId] as const)),
    };

    // HubSpot's, read from the portal itself; a link to a record HubSpot does not hold would dangle.
    const hsCanonical = async (objectType: ObjectType, ids: readonly string[]) => links.canonicalIdsOf(h.hubspot!.id, objectType, ids);
    const live = {
      contacts: new Set(hs.listRecords('contacts').map((row) => row.id)),
      companies: new Set(hs.listRecords('companies').map((row) => row.id)),
      deals: new Set(hs.listRecords('deals').map((row) => row.id)),
    };
    const dangling: string[] = [];
    const hubspotPairs = async (holderType: ObjectType, from: 'contacts' | 'deals' | 'tasks', relatedType: ObjectType, to: 'contacts' | 'companies' | 'deals'): Promise<Set<string>> => {
      const rows = hs.listRecords(from).flatMap((record) => hs.listAssociations(from, record.id, to).map((association) => [record.id, association.toObjectId] as const));
      for (const [holder, other] of rows) if (!live[to].has(other)) dangling.push(`${from} ${holder} -> ${to} ${other}`);
      const holders = await hsCanonical(holderType, rows.map(([holder]) => holder));
      const related = await hsCanonical(relatedType, rows.map(([, other]) => other));
      return new Set(rows.map(([holder, other]) => `${holders.get(holder) ?? `unlinked:${holder}`}>${related.get(other) ?? `unlinked:${other}`}`));
    };
    const actual: Record<string, Set<string>> = {
      'contact>company': await hubspotPairs('contact', 'contacts', 'company', 'companies'),
      'deal>company': await hubspotPairs('deal', 'deals', 'company', 'companies'),
      'deal>contact': await hubspotPairs('deal', 'deals', 'contact', 'contacts'),
      'activity>deal': await hubspotPairs('activity', 'tasks', 'deal', 'deals'),
      'activity>contact': await hubspotPairs('activity', 'tasks', 'contact', 'contacts'),
    };

    expect(dangling).toEqual([]);
    const counts = (sets: Record<string, Set<string>>) => Object.fromEntries(Object.entries(sets).map(([type, set]) => [type, set.size]));
    expect(counts(actual)).toEqual(counts(expected));
    expect(counts(expected)).toEqual({ 'contact>company': CONTACTS, 'deal>company': DEALS, 'deal>contact': DEALS * 2, 'activity>deal': ACTIVITIES, 'activity>contact': ACTIVITIES });
    for (const type of Object.keys(expected)) expect([...actual[type]!].sort(), type).toEqual([...expected[type]!].sort());
  }, 1_800_000);
});
