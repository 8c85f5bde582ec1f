import { afterEach, describe, expect, it } from 'vitest';
import type { UpsertOutcome } from '../../../src/connectors/connector';
import { MappingSpecError } from '../../../src/model/mapping';
import { startHarness, stopAll } from './sandbox-connector';

/** Upsert outcomes carry the record's new SystemModstamp (the engine's stale-read guard needs it). */
const isoDateTime = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) as unknown as string;

afterEach(stopAll);

function externalIdOf(outcome: UpsertOutcome | undefined): string {
  if (!outcome || !('externalId' in outcome)) throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
  return outcome.externalId;
}

const companyCodeOverride = { objects: { contact: { fields: [{ canonical: 'custom.companyCode', native: 'Company__c', type: 'string' }] } } };

describe('Salesforce connector: upsert and read back per object', () => {
  it('creates, re-upserts without duplicates and reads back equal, for all four objects', async () => {
    const { connector, sandbox } = await startHarness({}, { mappingOverride: companyCodeOverride });
    const company = { name: 'Acme GmbH', website: 'https://acme.example', industry: 'Manufacturing', phone: '+49 30 1', city: 'Berlin', country: 'DE', employeeCount: 120, annualRevenue: 5_000_000 };
    const [companyCreated] = await connector.upsertRecords('company', [{ syncId: 'sync-co-1', fields: company }]);
    expect(companyCreated).toMatchObject({ status: 'created' });
    const companyId = externalIdOf(companyCreated);

    const contact = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.example', phone: '+49 1', mobilePhone: '+49 2', title: 'CTO', city: 'Berlin', country: 'DE', custom: { companyCode: 'ACME-7' } };
    const [contactCreated] = await connector.upsertRecords('contact', [{ syncId: 'sync-ct-1', fields: contact, references: { company: companyId } }]);
    const contactId = externalIdOf(contactCreated);

    const deal = { name: 'Big deal', amount: 125_000.5, stage: 'negotiation' as const, closeDate: '2026-12-31', probability: 60 };
    const [dealCreated] = await connector.upsertRecords('deal', [{ syncId: 'sync-dl-1', fields: deal, references: { company: companyId } }]);
    const dealId = externalIdOf(dealCreated);

    const activity = { subject: 'Call Ada', description: 'About the big deal', status: 'completed' as const, priority: 'high' as const };
    const [activityCreated] = await connector.upsertRecords('activity', [{ syncId: 'sync-ac-1', fields: activity, references: { contacts: [contactId], deal: dealId } }]);
    const activityId = externalIdOf(activityCreated);

    // The same upserts again: matched by Sync_Id__c, so updated in place, never a second record.
    const again = await Promise.all([
      connector.upsertRecords('company', [{ syncId: 'sync-co-1', fields: company }]),
      connector.upsertRecords('contact', [{ syncId: 'sync-ct-1', fields: contact, references: { company: companyId } }]),
      connector.upsertRecords('deal', [{ syncId: 'sync-dl-1', fields: deal, references: { company: companyId } }]),
      connector.upsertRecords('activity', [{ syncId: 'sync-ac-1', fields: activity, references: { contacts: [contactId], deal: dealId } }]),
    ]);
    expect(again.map(([outcome]) => outcome)).toEqual([
      { syncId: 'sync-co-1', status: 'updated', externalId: companyId, modifiedAt: isoDateTime },
      { syncId: 'sync-ct-1', status: 'updated', externalId: contactId, modifiedAt: isoDateTime },
      { syncId: 'sync-dl-1', status: 'updated', externalId: dealId, modifiedAt: isoDateTime },
      { syncId: 'sync-ac-1', status: 'updated', externalId: activityId, modifiedAt: isoDateTime },
    ]);
    for (const type of ['Account', 'Contact', 'Opportunity', 'Task'] as const) expect(sandbox.admin.listRecords(type)).toHaveLength(1);

    const [readCompany] = await connector.readRecords('company', [companyId]);
    expect(readCompany).toMatchObject({ objectType: 'company', externalId: companyId, syncId: 'sync-co-1', fields: company, references: {} });
    const [readContact] = await connector.readRecords('contact', [contactId]);
    expect(readContact).toMatchObject({ syncId: 'sync-ct-1', fields: contact, references: { company: companyId } });
    expect(readContact?.modifiedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const [readDeal] = await connector.readRecords('deal', [dealId]);
    expect(readDeal).toMatchObject({ syncId: 'sync-dl-1', fields: deal, references: { company: companyId } });
    expect(sandbox.admin.getRecord('Opportunity', dealId)?.StageName).toBe('Negotiation/Review');
    const [readActivity] = await connector.readRecords('activity', [activityId]);
    expect(readActivity).toMatchObject({ syncId: 'sync-ac-1', fields: { ...activity, dueAt: null }, references: { contacts: [contactId], deal: dealId } });
    // A Task on a deal names no company of its own: that slot is not read (BEHAVIOR.md), never read as empty.
    expect(readActivity?.references).not.toHaveProperty('company');
    expect(sandbox.admin.getRecord('Task', activityId)).toMatchObject({ Status: 'Completed', Priority: 'High', WhoId: contactId, WhatId: dealId });
    expect(sandbox.admin.getRecord('Contact', contactId)?.Company__c).toBe('ACME-7');
  });

  it('reads every standard stage into the canonical six and clears a field written as null', async () => {
    const { connector, sandbox } = await startHarness();
    const created = sandbox.admin.createAsUser('Opportunity', { Name: 'Legacy', StageName: 'Needs Analysis', CloseDate: '2026-01-31', Amount: 10 });
    const [read] = await connector.readRecords('deal', [String(created.Id)]);
    expect(read?.fields).toMatchObject({ stage: 'qualification', amount: 10, closeDate: '2026-01-31' });
    const [outcome] = await connector.upsertRecords('deal', [{ syncId: 'legacy-1', externalId: String(created.Id), fields: { amount: null, stage: 'closed-won' } }]);
    expect(outcome).toEqual({ syncId: 'legacy-1', status: 'updated', externalId: created.Id, modifiedAt: isoDateTime });
    expect(sandbox.admin.getRecord('Opportunity', String(created.Id))).toMatchObject({ Amount: null, StageName: 'Closed Won', Sync_Id__c: 'legacy-1' });
  });

  it('fails only the bad record of a batch, with the vendor message and canonical field errors', async () => {
    const { connector } = await startHarness();
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: 'good-1', fields: { lastName: 'Good' } },
      { syncId: 'bad-1', fields: { lastName: 'Bad', email: 'not-an-email' } },
      { syncId: 'bad-2', fields: { firstName: 'No last name' } },
    ]);
    expect(outcomes[0]).toMatchObject({ syncId: 'good-1', status: 'created' });
    expect(outcomes[1]).toMatchObject({ syncId: 'bad-1', status: 'failed', error: { errorClass: 'validation', vendorCode: 'INVALID_EMAIL_ADDRESS', fieldErrors: [{ field: 'email' }] } });
    // Caught before the call by the described schema (LastName is required on create).
    expect(outcomes[2]).toMatchObject({ syncId: 'bad-2', status: 'failed', error: { errorClass: 'validation', message: 'LastName: missing, but Salesforce Contact.LastName is required to create a record (contact bad-2)', fieldErrors: [{ field: 'lastName' }] } });
  });

  it('refuses a bad tenant override at creation, naming the path', async () => {
    const { connect } = await startHarness();
    await expect(connect({ mappingOverride: { objects: { deal: { fields: [{ canonical: 'stage', native: 'StageName', type: 'picklist', values: { Won: 'won' } }] } } } })).rejects.toThrow(MappingSpecError);
    await expect(connect({ mappingOverride: { objects: { deal: { fields: [{ canonical: 'stage', native: 'StageName', type: 'picklist', values: { Won: 'won' } }] } } } })).rejects.toThrow(
      /override\.objects\.deal\.fields\[0\]\.values\.Won: "won" is not a deal\.stage value/,
    );
  });

  it('describes fields, including the external id and learnt custom fields', async () => {
    const { connector } = await startHarness();
    const fields = await connector.describeFields('contact');
    expect(fields.find((field) => field.name === 'Sync_Id__c')).toMatchObject({ custom: true, externalId: true });
    expect(fields.find((field) => field.name === 'Email')).toMatchObject({ custom: false });
  });
});
