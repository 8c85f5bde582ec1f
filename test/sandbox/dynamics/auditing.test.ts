import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startClient, type Client } from './support';

/** The audit table and its functions [D81]-[D86], over fetch, on an injected clock. */
describe('Dynamics sandbox: auditing', () => {
  let client: Client;
  let clockMs = Date.parse('2026-03-02T10:00:00.000Z');
  beforeAll(async () => {
    client = await startClient({ now: () => clockMs });
  });
  afterAll(async () => client.sandbox.stop());

  const auditsOf = async (id: string): Promise<Record<string, unknown>[]> => {
    const query = `audits?$select=auditid,createdon,operation,action,objecttypecode,_objectid_value&$filter=_objectid_value eq ${id}&$orderby=createdon desc`;
    const response = await client.api(query);
    expect(response.status).toBe(200);
    return (await json(response)).value as Record<string, unknown>[];
  };

  it('records a row per create and update, stamped like modifiedon, with the changed columns behind RetrieveAuditDetails', async () => {
    const created = await client.api('contacts', { method: 'POST', body: JSON.stringify({ firstname: 'Ada', lastname: 'Wilson' }) });
    const id = /\(([^)]+)\)/.exec(created.headers.get('odata-entityid') ?? '')?.[1] ?? '';
    clockMs += 4_000;
    expect((await client.api(`contacts(${id})`, { method: 'PATCH', body: JSON.stringify({ telephone1: '+1 555 0100' }) })).status).toBe(204);
    clockMs += 4_000;
    // Writing a value the row already holds changes nothing, and leaves no entry.
    expect((await client.api(`contacts(${id})`, { method: 'PATCH', body: JSON.stringify({ telephone1: '+1 555 0100' }) })).status).toBe(204);
    const record = await json(await client.api(`contacts(${id})?$select=createdon,modifiedon`));

    const rows = await auditsOf(id);
    expect(rows.map((row) => row.operation)).toEqual([2, 1]);
    expect(rows[0]).toMatchObject({ action: 2, objecttypecode: 'contact', _objectid_value: id, createdon: '2026-03-02T10:00:04Z' });
    expect(rows[1]).toMatchObject({ action: 1, createdon: record.createdon });

    const update = await client.api(`audits(${String(rows[0]!.auditid)})/Microsoft.Dynamics.CRM.RetrieveAuditDetails`);
    expect(update.status).toBe(200);
    expect(await json(update)).toEqual({
      '@odata.context': `${client.sandbox.serviceRoot}/$metadata#Microsoft.Dynamics.CRM.RetrieveAuditDetailsResponse`,
      AuditDetail: {
        '@odata.type': '#Microsoft.Dynamics.CRM.AttributeAuditDetail',
        InvalidNewValueAttributes: [],
        LocLabelLanguageCode: 0,
        DeletedAttributes: { Count: 0, Keys: [], Values: [] },
        OldValue: { '@odata.type': '#Microsoft.Dynamics.CRM.contact' },
        NewValue: { '@odata.type': '#Microsoft.Dynamics.CRM.contact', telephone1: '+1 555 0100' },
      },
    });
    const create = (await json(await client.api(`audits(${String(rows[1]!.auditid)})/Microsoft.Dynamics.CRM.RetrieveAuditDetails`))).AuditDetail as Record<string, Record<string, unknown>>;
    expect(create.NewValue).toMatchObject({ firstname: 'Ada', lastname: 'Wilson' });
    expect(create.NewValue).not.toHaveProperty('telephone1');

    // The record's history without times: RetrieveRecordChangeHistory leaves out AuditRecord [D85].
    const history = await client.api(`RetrieveRecordChangeHistory(Target=@target)?@target={'@odata.id':'contacts(${id})'}`);
    expect(history.status).toBe(200);
    const collection = (await json(history)).AuditDetailCollection as { AuditDetails: Record<string, unknown>[]; MoreRecords: boolean };
    expect(collection.MoreRecords).toBe(false);
    expect(collection.AuditDetails.map((detail) => Object.keys(detail.NewValue as object))).toEqual([
      ['@odata.type', 'telephone1'],
      expect.arrayContaining(['firstname', 'lastname']),
    ]);
    expect(collection.AuditDetails.every((detail) => !('AuditRecord' in detail))).toBe(true);
  });

  it('is read-only, and answers 404 for an unknown audit id', async () => {
    expect((await client.api('audits', { method: 'POST', body: JSON.stringify({ operation: 2 }) })).status).toBe(405);
    expect((await client.api('audits(00000000-0000-0000-0000-000000000001)/Microsoft.Dynamics.CRM.RetrieveAuditDetails')).status).toBe(404);
  });

  it('records nothing while the organisation does not audit', async () => {
    client.sandbox.admin.setAuditing(false);
    try {
      const created = await client.api('contacts', { method: 'POST', body: JSON.stringify({ firstname: 'Grace', lastname: 'Hopper' }) });
      const id = /\(([^)]+)\)/.exec(created.headers.get('odata-entityid') ?? '')?.[1] ?? '';
      await client.api(`contacts(${id})`, { method: 'PATCH', body: JSON.stringify({ jobtitle: 'Admiral' }) });
      expect(await auditsOf(id)).toEqual([]);
      const history = await json(await client.api(`RetrieveRecordChangeHistory(Target=@target)?@target={'@odata.id':'contacts(${id})'}`));
      expect((history.AuditDetailCollection as { AuditDetails: unknown[] }).AuditDetails).toEqual([]);
    } finally {
      client.sandbox.admin.setAuditing(true);
    }
  });
});
