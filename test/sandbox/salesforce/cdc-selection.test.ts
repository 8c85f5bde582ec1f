import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

/** The Tooling API's PlatformEventChannelMember over HTTP: the org's Change Data Capture selection [S96]-[S99]. */
describe('Salesforce sandbox: Change Data Capture selection (Tooling API PlatformEventChannelMember)', () => {
  let newOrg: SalesforceSandbox;
  let defaultOrg: SalesforceSandbox;
  const tooling = async (sandbox: SalesforceSandbox, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${sandbox.url}/services/data/v62.0/tooling${path}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: response.status === 204 ? undefined : await response.json() };
  };
  const member = (selectedEntity: string, FullName?: string) => ({ ...(FullName ? { FullName } : {}), Metadata: { eventChannel: 'ChangeEvents', selectedEntity } });
  const query = (sandbox: SalesforceSandbox, soql = 'SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM PlatformEventChannelMember') => tooling(sandbox, 'GET', `/query?q=${encodeURIComponent(soql)}`);

  beforeAll(async () => {
    [newOrg, defaultOrg] = await Promise.all([startSalesforceSandbox({ changeDataCapture: { selected: [] } }), startSalesforceSandbox()]);
  });
  afterAll(async () => {
    await Promise.all([newOrg?.stop(), defaultOrg?.stop()]);
  });

  it('by default every synced object is selected, as an admin selected them in Setup', async () => {
    const answer = (await query(defaultOrg)).body as { totalSize: number; records: { DeveloperName: string; SelectedEntity: string }[] };
    expect(answer.records.map((record) => [record.DeveloperName, record.SelectedEntity])).toEqual(
      ['Contact', 'Account', 'Opportunity', 'Task', 'Event'].map((entity) => [`ChangeEvents_${entity}ChangeEvent`, `${entity}ChangeEvent`]),
    );
  });

  it('creates a member (201, id), lists it by query, refuses a duplicate and an unknown entity, deletes it (204, then 404)', async () => {
    const created = await tooling(newOrg, 'POST', '/sobjects/PlatformEventChannelMember', member('ContactChangeEvent'));
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string; success: boolean };
    expect(created.body).toEqual({ id, success: true, errors: [], warnings: [], infos: [] });
    expect(id).toMatch(/^0v8\w{15}$/);

    const listed = await query(newOrg, "SELECT Id, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents'");
    expect(listed.body).toMatchObject({ totalSize: 1, done: true, records: [{ attributes: { type: 'PlatformEventChannelMember' }, Id: id, SelectedEntity: 'ContactChangeEvent' }] });

    const again = await tooling(newOrg, 'POST', '/sobjects/PlatformEventChannelMember', member('ContactChangeEvent', 'ChangeEvents_Other_ContactChangeEvent'));
    expect([again.status, (again.body as { errorCode: string }[])[0]?.errorCode]).toEqual([400, 'DUPLICATE_VALUE']);
    const sameName = await tooling(newOrg, 'POST', '/sobjects/PlatformEventChannelMember', member('AccountChangeEvent', 'ChangeEvents_ContactChangeEvent'));
    expect([sameName.status, (sameName.body as { errorCode: string }[])[0]?.errorCode]).toEqual([400, 'DUPLICATE_DEVELOPER_NAME']);
    const unknown = await tooling(newOrg, 'POST', '/sobjects/PlatformEventChannelMember', member('LeadChangeEvent'));
    const refusal = (unknown.body as { errorCode: string; message: string }[])[0];
    expect([unknown.status, refusal?.errorCode]).toEqual([400, 'FIELD_INTEGRITY_EXCEPTION']);
    expect(refusal?.message).toContain('LeadChangeEvent');
    const badQuery = await query(newOrg, 'SELECT Nope FROM PlatformEventChannelMember');
    expect([badQuery.status, (badQuery.body as { errorCode: string }[])[0]?.errorCode]).toEqual([400, 'INVALID_FIELD']);

    expect((await tooling(newOrg, 'DELETE', `/sobjects/PlatformEventChannelMember/${id}`)).status).toBe(204);
    const gone = await tooling(newOrg, 'DELETE', `/sobjects/PlatformEventChannelMember/${id}`);
    expect([gone.status, (gone.body as { errorCode: string }[])[0]?.errorCode]).toEqual([404, 'NOT_FOUND']);
    expect((await query(newOrg)).body).toMatchObject({ totalSize: 0, records: [] });
  });

  it('needs a session like every REST call', async () => {
    const response = await fetch(`${newOrg.url}/services/data/v62.0/tooling/sobjects/PlatformEventChannelMember`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(member('ContactChangeEvent')) });
    expect(response.status).toBe(401);
    expect(newOrg.admin.changeDataCaptureMembers()).toEqual([]);
  });

  it('only selected objects publish change events', () => {
    newOrg.admin.createAsUser('Contact', { LastName: 'Unselected' });
    defaultOrg.admin.createAsUser('Contact', { LastName: 'Selected' });
    expect(newOrg.admin.changeEventsPublished()).toBe(0);
    expect(defaultOrg.admin.changeEventsPublished()).toBe(1);
  });
});
