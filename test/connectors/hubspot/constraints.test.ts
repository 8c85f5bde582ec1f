import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import type { ConnectorBaseOptions } from '../../../src/connectors/connector-options';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

describe('HubSpot connector: values checked against the property definitions before the write', () => {
  let hs: HubSpotSandbox;
  const connect = (mappingOverride?: ConnectorBaseOptions['mappingOverride']): Promise<HubSpotConnector> =>
    createHubSpotConnector({ connectionId: `hs-fit-${randomUUID()}`, basePath: hs.url, auth: { kind: 'private-app', accessToken: hs.credentials.accessToken }, mappingOverride });
  const stageOverride = (onViolation?: 'skip') => ({ objects: { contact: { fields: [{ canonical: 'custom.stage', native: 'lifecyclestage', type: 'string' as const, ...(onViolation ? { onViolation } : {}) }] } } });

  beforeAll(async () => {
    hs = await startHubSpotSandbox({ limits: false });
  });
  afterAll(async () => hs.stop());

  it('fails exactly the records that cannot fit, with field, options and record, and writes the rest of the batch', async () => {
    const connector = await connect(stageOverride());
    const before = connector.requestCount;
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: 'ok-1', fields: { email: 'ok1@fit.example', lastName: 'Ok', custom: { stage: 'customer' } } },
      { syncId: 'bad-stage', fields: { email: 'bad@fit.example', custom: { stage: 'vip' } } },
      { syncId: 'too-long', fields: { email: 'long@fit.example', title: 't'.repeat(65_537) } },
      { syncId: 'ok-2', fields: { email: 'ok2@fit.example' } },
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'failed', 'failed', 'created']);
    expect(outcomes[1]).toMatchObject({
      error: {
        errorClass: 'validation',
        message: 'lifecyclestage: "vip" is not one of the values HubSpot contacts.lifecyclestage accepts (subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other) (contact bad-stage)',
        fieldErrors: [{ field: 'custom.stage' }],
      },
    });
    expect(outcomes[2]).toMatchObject({ error: { errorClass: 'validation', message: 'jobtitle: 65537 characters, HubSpot contacts.jobtitle holds 65536 (contact too-long)', fieldErrors: [{ field: 'title' }] } });
    expect(hs.admin.listRecords('contacts').map((record) => record.properties.email).sort()).toEqual(['ok1@fit.example', 'ok2@fit.example']);
    // One property read and one batch: the refused records never reached HubSpot (whose batch would have failed whole).
    expect(connector.requestCount - before).toBe(2);
  });

  it('leaves out a field the tenant chose to skip, and says so', async () => {
    const connector = await connect(stageOverride('skip'));
    const [outcome] = await connector.bulk.upsert('contact', [{ syncId: 'skip-1', fields: { email: 'skip@fit.example', lastName: 'Skip', custom: { stage: 'vip' } } }]);
    expect(outcome).toMatchObject({ status: 'created', adjusted: [expect.stringMatching(/^skipped: lifecyclestage: "vip"/)] });
    expect(hs.admin.listRecords('contacts').find((record) => record.properties.email === 'skip@fit.example')?.properties).toMatchObject({ lastname: 'Skip' });
    expect(hs.admin.listRecords('contacts').find((record) => record.properties.email === 'skip@fit.example')?.properties.lifecyclestage).toBeUndefined();
  });

  it('does not check enumerations whose options live elsewhere (deal stages follow the pipeline)', async () => {
    const connector = await connect();
    const [outcome] = await connector.upsertRecords('deal', [{ syncId: 'deal-1', fields: { name: 'Deal', stage: 'qualification' } }]);
    expect(outcome?.status).toBe('created');
  });
});
