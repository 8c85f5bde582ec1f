import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedRecordsQuery } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Constraints the target CRM enforces, end to end (real Temporal, PostgreSQL and sandboxes over
 * HTTP): one batch holds a value too long for the target field, a record without a value the
 * target requires, and a value outside the target's restricted picklist. Exactly those three are
 * parked, each with a message naming field, limit and record; the rest of the batch lands.
 */
const within = { timeout: 60_000, interval: 250 };

describe('HubSpot -> Salesforce: what Salesforce cannot hold is parked, the rest lands', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
    // The tenant syncs a contact "level": a free-text HubSpot property into Salesforce's restricted picklist.
    hs.sandbox.admin.defineProperty('contacts', 'level', 'string');
    for (const [connection, native] of [[sf.id, 'Level__c'], [hs.id, 'level']] as const) {
      const stored = await h.connectionsRepository.getConnection(connection);
      await h.connectionsRepository.updateSettings(connection, { ...stored!.settings, mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.level', native, type: 'string' }] } } } });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('parks exactly the three records with precise messages and writes the others', async () => {
    const create = (properties: Record<string, string>) => hs.sandbox.admin.createAsUser('contacts', properties).id;
    const ids = {
      fine1: create({ firstname: 'Ada', lastname: 'Lovelace', email: 'ada@fit.example', level: 'Primary' }),
      long: create({ firstname: 'Long', lastname: 'L'.repeat(97), email: 'long@fit.example' }),
      missing: create({ firstname: 'Nolast', email: 'nolast@fit.example' }),
      picklist: create({ firstname: 'Pick', lastname: 'Picker', email: 'pick@fit.example', level: 'Quaternary' }),
      fine2: create({ firstname: 'Grace', lastname: 'Hopper', email: 'grace@fit.example', jobtitle: 'T'.repeat(128) }),
    };
    await h.notify(hs.id, { events: Object.values(ids).map((externalId, index) => ({ objectType: 'contact' as const, externalId, eventId: `fit-${index}` })) });

    const handle = h.client.workflow.getHandle(h.syncWorkflowId(hs.id));
    await expect.poll(async () => (await handle.query(parkedRecordsQuery)).length, within).toBe(3);
    await expect.poll(() => sf.sandbox.admin.listRecords('Contact').map((record) => record.Email).sort(), within).toEqual(['ada@fit.example', 'grace@fit.example']);

    const parked = await handle.query(parkedRecordsQuery);
    const bySource = new Map(parked.map((record) => [record.sourceExternalId, record]));
    expect([...bySource.keys()].sort()).toEqual([ids.long, ids.missing, ids.picklist].sort());
    for (const record of parked) expect(record).toMatchObject({ targetConnectionId: sf.id, reason: 'failed', error: { provider: 'salesforce', errorClass: 'validation' } });
    expect(bySource.get(ids.long)?.error.message).toMatch(/^LastName: 97 characters, Salesforce Contact\.LastName holds 80 \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.missing)?.error.message).toMatch(/^LastName: missing, but Salesforce Contact\.LastName is required to create a record \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.picklist)?.error.message).toMatch(/^Level__c: "Quaternary" is not one of the values Salesforce Contact\.Level__c accepts \(Primary, Secondary, Tertiary\) \(contact [0-9a-f-]{36}\)$/);
    expect(sf.sandbox.admin.listRecords('Contact').find((record) => record.Email === 'ada@fit.example')).toMatchObject({ LastName: 'Lovelace', Level__c: 'Primary' });
    expect((await h.syncStatus(hs.id)).parked).toBe(3);
  });
});

describe('Salesforce -> HubSpot: what HubSpot cannot hold is parked, the rest lands', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
    // The tenant syncs free-text Salesforce fields into a HubSpot enumeration (lifecyclestage) and a text property.
    hs.sandbox.admin.defineProperty('contacts', 'notes', 'string');
    const overrides = {
      [sf.id]: [{ canonical: 'custom.stage', native: 'Stage__c', type: 'string' }, { canonical: 'custom.notes', native: 'Notes__c', type: 'string' }],
      [hs.id]: [{ canonical: 'custom.stage', native: 'lifecyclestage', type: 'string' }, { canonical: 'custom.notes', native: 'notes', type: 'string' }],
    };
    for (const [connection, fields] of Object.entries(overrides)) {
      const stored = await h.connectionsRepository.getConnection(connection);
      await h.connectionsRepository.updateSettings(connection, { ...stored!.settings, mappingOverride: { objects: { contact: { fields } } } });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  // HubSpot requires no contact property through the API, so there is no missing-required case to park.
  it('parks exactly the too-long and the bad-option records with precise messages and writes the others', async () => {
    const create = (fields: Record<string, string>) => String(sf.sandbox.admin.createAsUser('Contact', fields).Id);
    const ids = {
      fine1: create({ LastName: 'Lovelace', Email: 'ada@fit.example', Stage__c: 'customer' }),
      long: create({ LastName: 'Long', Email: 'long@fit.example', Notes__c: 'n'.repeat(65_537) }),
      option: create({ LastName: 'Vip', Email: 'vip@fit.example', Stage__c: 'vip' }),
      fine2: create({ LastName: 'Hopper', Email: 'grace@fit.example', Notes__c: 'n'.repeat(65_536) }),
    };
    await h.notify(sf.id, { events: Object.values(ids).map((externalId, index) => ({ objectType: 'contact' as const, externalId, eventId: `fit-sf-${index}` })) });

    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sf.id));
    await expect.poll(async () => (await handle.query(parkedRecordsQuery)).length, within).toBe(2);
    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.email).sort(), within).toEqual(['ada@fit.example', 'grace@fit.example']);

    const bySource = new Map((await handle.query(parkedRecordsQuery)).map((record) => [record.sourceExternalId, record]));
    expect([...bySource.keys()].sort()).toEqual([ids.long, ids.option].sort());
    for (const record of bySource.values()) expect(record).toMatchObject({ targetConnectionId: hs.id, reason: 'failed', error: { provider: 'hubspot', errorClass: 'validation' } });
    expect(bySource.get(ids.long)?.error.message).toMatch(/^notes: 65537 characters, HubSpot contacts\.notes holds 65536 \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.option)?.error.message).toMatch(/^lifecyclestage: "vip" is not one of the values HubSpot contacts\.lifecyclestage accepts \(subscriber, .*, other\) \(contact [0-9a-f-]{36}\)$/);
    expect(hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === 'ada@fit.example')?.properties.lifecyclestage).toBe('customer');
  });
});

describe('HubSpot -> Dynamics 365: what Dataverse cannot hold is parked, the rest lands', () => {
  let h: SyncHarness;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let dyn: NonNullable<SyncHarness['dynamics']>;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['hubspot', 'dynamics'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    hs = h.hubspot!;
    dyn = h.dynamics!;
    // The tenant syncs a HubSpot number property into Dataverse's preferred-contact-method choice.
    hs.sandbox.admin.defineProperty('contacts', 'contact_method', 'number');
    const overrides = {
      [hs.id]: { canonical: 'custom.contactMethod', native: 'contact_method', type: 'integer' },
      [dyn.id]: { canonical: 'custom.contactMethod', native: 'preferredcontactmethodcode', type: 'integer' },
    };
    for (const [connection, field] of Object.entries(overrides)) {
      const stored = await h.connectionsRepository.getConnection(connection);
      await h.connectionsRepository.updateSettings(connection, { ...stored!.settings, mappingOverride: { objects: { contact: { fields: [field] } } } });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  // Dataverse enforces only SystemRequired columns; a contact's last name is business required, a
  // form rule the Web API does not check, so a contact without one lands.
  it('parks exactly the too-long and the out-of-range records with precise messages and writes the others', async () => {
    const create = (properties: Record<string, string>) => hs.sandbox.admin.createAsUser('contacts', properties).id;
    const ids = {
      fine: create({ firstname: 'Ada', lastname: 'Lovelace', email: 'ada@fit.example', contact_method: '2' }),
      long: create({ firstname: 'Long', lastname: 'L'.repeat(51), email: 'long@fit.example' }),
      choice: create({ firstname: 'Fax', lastname: 'Nine', email: 'nine@fit.example', contact_method: '9' }),
      nameless: create({ firstname: 'Nolast', email: 'nolast@fit.example' }),
    };
    await h.notify(hs.id, { events: Object.values(ids).map((externalId, index) => ({ objectType: 'contact' as const, externalId, eventId: `fit-dyn-${index}` })) });

    const handle = h.client.workflow.getHandle(h.syncWorkflowId(hs.id));
    await expect.poll(async () => (await handle.query(parkedRecordsQuery)).length, within).toBe(2);
    await expect.poll(() => dyn.sandbox.admin.listRecords('contacts').map((row) => row.emailaddress1).sort(), within).toEqual(['ada@fit.example', 'nolast@fit.example']);

    const bySource = new Map((await handle.query(parkedRecordsQuery)).map((record) => [record.sourceExternalId, record]));
    expect([...bySource.keys()].sort()).toEqual([ids.long, ids.choice].sort());
    for (const record of bySource.values()) expect(record).toMatchObject({ targetConnectionId: dyn.id, reason: 'failed', error: { provider: 'dynamics', errorClass: 'validation' } });
    expect(bySource.get(ids.long)?.error.message).toMatch(/^lastname: 51 characters, Dynamics 365 contact\.lastname holds 50 \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.choice)?.error.message).toMatch(/^preferredcontactmethodcode: 9 is not one of the values Dynamics 365 contact\.preferredcontactmethodcode accepts \(1, 2, 3, 4, 5\) \(contact [0-9a-f-]{36}\)$/);
    expect(dyn.sandbox.admin.listRecords('contacts').find((row) => row.emailaddress1 === 'ada@fit.example')).toMatchObject({ lastname: 'Lovelace', preferredcontactmethodcode: 2 });
  });
});

describe('HubSpot -> Zoho CRM: what Zoho cannot hold is parked, the rest lands', () => {
  let h: SyncHarness;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let zoho: NonNullable<SyncHarness['zoho']>;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['hubspot', 'zoho'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    hs = h.hubspot!;
    zoho = h.zoho!;
    // The tenant syncs a free-text HubSpot property into Zoho's Lead Source picklist.
    hs.sandbox.admin.defineProperty('contacts', 'source', 'string');
    for (const [connection, native] of [[zoho.id, 'Lead_Source'], [hs.id, 'source']] as const) {
      const stored = await h.connectionsRepository.getConnection(connection);
      await h.connectionsRepository.updateSettings(connection, { ...stored!.settings, mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.source', native, type: 'string' }] } } } });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('parks exactly the three records with precise messages and writes the others', async () => {
    const create = (properties: Record<string, string>) => hs.sandbox.admin.createAsUser('contacts', properties).id;
    const ids = {
      fine1: create({ firstname: 'Ada', lastname: 'Lovelace', email: 'ada@fit.example', source: 'Trade Show' }),
      long: create({ firstname: 'Long', lastname: 'L'.repeat(81), email: 'long@fit.example' }),
      missing: create({ firstname: 'Nolast', email: 'nolast@fit.example' }),
      picklist: create({ firstname: 'Pick', lastname: 'Picker', email: 'pick@fit.example', source: 'Billboard' }),
      fine2: create({ firstname: 'Grace', lastname: 'L'.repeat(80), email: 'grace@fit.example' }),
    };
    await h.notify(hs.id, { events: Object.values(ids).map((externalId, index) => ({ objectType: 'contact' as const, externalId, eventId: `fit-zoho-${index}` })) });

    const handle = h.client.workflow.getHandle(h.syncWorkflowId(hs.id));
    await expect.poll(async () => (await handle.query(parkedRecordsQuery)).length, within).toBe(3);
    await expect.poll(() => zoho.sandbox.admin.listRecords('Contacts').map((record) => record.Email).sort(), within).toEqual(['ada@fit.example', 'grace@fit.example']);

    const bySource = new Map((await handle.query(parkedRecordsQuery)).map((record) => [record.sourceExternalId, record]));
    expect([...bySource.keys()].sort()).toEqual([ids.long, ids.missing, ids.picklist].sort());
    for (const record of bySource.values()) expect(record).toMatchObject({ targetConnectionId: zoho.id, reason: 'failed', error: { provider: 'zoho', errorClass: 'validation' } });
    expect(bySource.get(ids.long)?.error.message).toMatch(/^Last_Name: 81 characters, Zoho CRM Contacts\.Last_Name holds 80 \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.missing)?.error.message).toMatch(/^Last_Name: missing, but Zoho CRM Contacts\.Last_Name is required to create a record \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.picklist)?.error.message).toMatch(/^Lead_Source: "Billboard" is not one of the values Zoho CRM Contacts\.Lead_Source accepts \(-None-, .*, Chat\) \(contact [0-9a-f-]{36}\)$/);
    expect(zoho.sandbox.admin.listRecords('Contacts').find((record) => record.Email === 'ada@fit.example')).toMatchObject({ Last_Name: 'Lovelace', Lead_Source: 'Trade Show' });
    expect((await h.syncStatus(hs.id)).parked).toBe(3);
  });
});

describe('HubSpot -> Pipedrive: what Pipedrive cannot hold is parked, the rest lands', () => {
  let h: SyncHarness;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let pd: NonNullable<SyncHarness['pipedrive']>;
  let levelKey: string;
  let options: string[];

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['hubspot', 'pipedrive'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    hs = h.hubspot!;
    pd = h.pipedrive!;
    // The tenant syncs a HubSpot number property into a Pipedrive single-option (enum) field, by option id.
    hs.sandbox.admin.defineProperty('contacts', 'level', 'number');
    levelKey = pd.sandbox.admin.defineField('persons', 'Level', 'enum', ['Gold', 'Silver', 'Bronze']);
    options = pd.sandbox.admin.fieldOptions('persons', levelKey).map((option) => String(option.id));
    for (const [connection, native] of [[pd.id, levelKey], [hs.id, 'level']] as const) {
      const stored = await h.connectionsRepository.getConnection(connection);
      await h.connectionsRepository.updateSettings(connection, { ...stored!.settings, mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.level', native, type: 'integer' }] } } } });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  // A v2 person needs no name [P9]: a contact without one lands.
  it('parks exactly the too-long and the bad-option records with precise messages and writes the others', async () => {
    const create = (properties: Record<string, string>) => hs.sandbox.admin.createAsUser('contacts', properties).id;
    const ids = {
      fine1: create({ firstname: 'Ada', lastname: 'Lovelace', email: 'ada@fit.example', level: options[0]! }),
      long: create({ firstname: 'Long', lastname: 'L'.repeat(256), email: 'long@fit.example' }),
      missing: create({ email: 'nameless@fit.example' }),
      option: create({ firstname: 'Pick', lastname: 'Picker', email: 'pick@fit.example', level: '999' }),
      fine2: create({ firstname: 'Grace', lastname: 'L'.repeat(255), email: 'grace@fit.example' }),
    };
    await h.notify(hs.id, { events: Object.values(ids).map((externalId, index) => ({ objectType: 'contact' as const, externalId, eventId: `fit-pd-${index}` })) });

    const handle = h.client.workflow.getHandle(h.syncWorkflowId(hs.id));
    await expect.poll(async () => (await handle.query(parkedRecordsQuery)).length, within).toBe(2);
    const emails = () => pd.sandbox.admin.listRecords('persons').map((person) => (person.emails as { value: string }[])[0]?.value).sort();
    await expect.poll(emails, within).toEqual(['ada@fit.example', 'grace@fit.example', 'nameless@fit.example']);

    const bySource = new Map((await handle.query(parkedRecordsQuery)).map((record) => [record.sourceExternalId, record]));
    expect([...bySource.keys()].sort()).toEqual([ids.long, ids.option].sort());
    for (const record of bySource.values()) expect(record).toMatchObject({ targetConnectionId: pd.id, reason: 'failed', error: { provider: 'pipedrive', errorClass: 'validation' } });
    expect(bySource.get(ids.long)?.error.message).toMatch(/^last_name: 256 characters, Pipedrive persons\.last_name holds 255 \(contact [0-9a-f-]{36}\)$/);
    expect(bySource.get(ids.option)?.error.message).toMatch(new RegExp(`^${levelKey}: 999 is not one of the values Pipedrive persons\\.${levelKey} accepts \\(${options.join(', ')}\\) \\(contact [0-9a-f-]{36}\\)$`));
    const ada = pd.sandbox.admin.listRecords('persons').find((person) => (person.emails as { value: string }[])[0]?.value === 'ada@fit.example');
    expect(ada).toMatchObject({ last_name: 'Lovelace', custom_fields: { [levelKey]: Number(options[0]) } });
    expect((await h.syncStatus(hs.id)).parked).toBe(2);
  });
});
