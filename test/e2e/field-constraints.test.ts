import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectType } from '../../src/model/identifiers';
import type { PropertyKind } from '../../src/sandbox/hubspot/schema';
import { parkedRecordsQuery } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness, type SyncHarnessOptions } from '../support/sync-harness';

/**
 * Constraints the target CRM enforces, end to end (real Temporal, PostgreSQL and sandboxes over
 * HTTP): one batch holds a value too long for the target field, a record without a value the
 * target requires, and a value outside the target's restricted picklist. Exactly those are
 * parked, each with a message naming field, limit and record; the rest of the batch lands.
 * One table row per CRM (and object); the scaffold around it is the same for every row.
 */
const within = { timeout: 60_000, interval: 250 };

type Crm = SyncHarnessOptions['crms'][number];
type Fields = Record<string, string>;
type FieldOverride = { canonical: string; native: string; type: 'string' | 'integer' };

/** What a row's `prepare` hands its scenarios: names only known once the sandboxes run (a Pipedrive field key, its option ids). */
type Named = Record<string, string>;

interface Scenario {
  title: string;
  object: Extract<ObjectType, 'contact' | 'company'>;
  /** Records created in the source CRM, by label, as the source's own fields. */
  records: (named: Named) => Record<string, Fields>;
  /** The labels parked, each with what its message says before " (object <canonical id>)". */
  parked: (named: Named) => Record<string, RegExp>;
  /** The target's records (one key each, e.g. an email) and the keys of those that must land. */
  landed: { keys: (h: SyncHarness) => unknown[]; expected: unknown[] };
  /** Further checks of what landed. */
  holds?: (h: SyncHarness, named: Named) => void;
}

interface ConstraintCase {
  title: string;
  source: 'hubspot' | 'salesforce';
  target: Crm;
  objects: ObjectType[];
  /** Defines the fields the tenant syncs and returns each connection's mapping override (contacts). */
  prepare: (h: SyncHarness) => { overrides: Record<string, FieldOverride[]>; named?: Named };
  scenarios: Scenario[];
}

const UUID = '[0-9a-f-]{36}';
const column = (records: Record<string, unknown>[], key: string) => records.map((record) => record[key]);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What the check says, before " (object <canonical id>)": `target` is e.g. "Salesforce Contact.LastName". */
const says = {
  tooLong: (field: string, target: string, limit: number) => new RegExp(`${escape(field)}: ${limit + 1} characters, ${escape(target)} holds ${limit}`),
  required: (field: string, target: string) => new RegExp(`${escape(field)}: missing, but ${escape(target)} is required to create a record`),
  /** `accepts` is a pattern (lists are long): the values between the parentheses. */
  notOneOf: (field: string, value: string, target: string, accepts: string) => new RegExp(`${escape(field)}: ${escape(value)} is not one of the values ${escape(target)} accepts \\(${accepts}\\)`),
};

/** The tenant's mapping: each canonical field to its native field per connection (by connection id). */
function mapped(...fields: { canonical: string; type: FieldOverride['type']; native: Record<string, string> }[]): Record<string, FieldOverride[]> {
  const overrides: Record<string, FieldOverride[]> = {};
  for (const { canonical, type, native } of fields) for (const [connection, name] of Object.entries(native)) (overrides[connection] ??= []).push({ canonical, native: name, type });
  return overrides;
}

/** The tenant syncs a HubSpot contact property, defined here, into the target's `native` field under `custom.<property>`. */
function hubspotPropertyInto(h: SyncHarness, target: Crm, property: string, kind: PropertyKind, native: string): { overrides: Record<string, FieldOverride[]> } {
  h.hubspot!.sandbox.admin.defineProperty('contacts', property, kind);
  const type = kind === 'number' ? 'integer' : 'string';
  return { overrides: mapped({ canonical: `custom.${property}`, type, native: { [h[target]!.id]: native, [h.hubspot!.id]: property } }) };
}

/**
 * The HubSpot contacts a row sends: two that fit (one with a last name as long as the target
 * holds), one a character longer, one with no name at all, and one whose mapped `field` holds a
 * value the target does not accept.
 */
function hubspotContacts(limit: number, field: string, accepted: string, refused: string): Record<string, Fields> {
  return {
    fine1: { firstname: 'Ada', lastname: 'Lovelace', email: 'ada@fit.example', [field]: accepted },
    long: { firstname: 'Long', lastname: 'L'.repeat(limit + 1), email: 'long@fit.example' },
    missing: { email: 'nameless@fit.example' },
    refused: { firstname: 'Pick', lastname: 'Picker', email: 'pick@fit.example', [field]: refused },
    fine2: { firstname: 'Grace', lastname: 'L'.repeat(limit), email: 'grace@fit.example' },
  };
}

/** The HubSpot companies a row sends: two that fit, one a character too long for the name, one without a name. */
function hubspotCompanies(limit: number): Record<string, Fields> {
  return {
    fine1: { name: 'Analytical Engines', domain: 'engines.example' },
    long: { name: 'N'.repeat(limit + 1), domain: 'long.example' },
    missing: { domain: 'nameless.example' },
    fine2: { name: 'A'.repeat(limit), domain: 'fits.example' },
  };
}

const cases: ConstraintCase[] = [
  {
    title: 'HubSpot -> Salesforce: what Salesforce cannot hold is parked, the rest lands',
    source: 'hubspot',
    target: 'salesforce',
    objects: ['contact', 'company'],
    // The tenant syncs a contact "level": a free-text HubSpot property into Salesforce's restricted picklist.
    prepare: (h) => hubspotPropertyInto(h, 'salesforce', 'level', 'string', 'Level__c'),
    scenarios: [
      {
        title: 'contacts: parks exactly the three records with precise messages and writes the others',
        object: 'contact',
        records: () => ({ ...hubspotContacts(80, 'level', 'Primary', 'Quaternary'), titled: { firstname: 'Titled', lastname: 'Hopper', email: 'titled@fit.example', jobtitle: 'T'.repeat(128) } }),
        parked: () => ({
          long: says.tooLong('LastName', 'Salesforce Contact.LastName', 80),
          missing: says.required('LastName', 'Salesforce Contact.LastName'),
          refused: says.notOneOf('Level__c', '"Quaternary"', 'Salesforce Contact.Level__c', 'Primary, Secondary, Tertiary'),
        }),
        landed: { keys: (h) => column(h.salesforce!.sandbox.admin.listRecords('Contact'), 'Email'), expected: ['ada@fit.example', 'grace@fit.example', 'titled@fit.example'] },
        holds: (h) => expect(h.salesforce!.sandbox.admin.listRecords('Contact').find((record) => record.Email === 'ada@fit.example')).toMatchObject({ LastName: 'Lovelace', Level__c: 'Primary' }),
      },
      {
        title: 'companies: parks the too-long and the nameless account with precise messages and writes the others',
        object: 'company',
        records: () => hubspotCompanies(255),
        parked: () => ({ long: says.tooLong('Name', 'Salesforce Account.Name', 255), missing: says.required('Name', 'Salesforce Account.Name') }),
        landed: { keys: (h) => column(h.salesforce!.sandbox.admin.listRecords('Account'), 'Name'), expected: ['A'.repeat(255), 'Analytical Engines'] },
      },
    ],
  },
  {
    title: 'Salesforce -> HubSpot: what HubSpot cannot hold is parked, the rest lands',
    source: 'salesforce',
    target: 'hubspot',
    objects: ['contact'],
    // The tenant syncs free-text Salesforce fields into a HubSpot enumeration (lifecyclestage) and a text property.
    prepare: (h) => {
      h.hubspot!.sandbox.admin.defineProperty('contacts', 'notes', 'string');
      return {
        overrides: mapped(
          { canonical: 'custom.stage', type: 'string', native: { [h.salesforce!.id]: 'Stage__c', [h.hubspot!.id]: 'lifecyclestage' } },
          { canonical: 'custom.notes', type: 'string', native: { [h.salesforce!.id]: 'Notes__c', [h.hubspot!.id]: 'notes' } },
        ),
      };
    },
    scenarios: [
      {
        // HubSpot requires no contact property through the API, so there is no missing-required case to park.
        title: 'contacts: parks exactly the too-long and the bad-option records with precise messages and writes the others',
        object: 'contact',
        records: () => ({
          fine1: { LastName: 'Lovelace', Email: 'ada@fit.example', Stage__c: 'customer' },
          long: { LastName: 'Long', Email: 'long@fit.example', Notes__c: 'n'.repeat(65_537) },
          refused: { LastName: 'Vip', Email: 'vip@fit.example', Stage__c: 'vip' },
          fine2: { LastName: 'Hopper', Email: 'grace@fit.example', Notes__c: 'n'.repeat(65_536) },
        }),
        parked: () => ({ long: says.tooLong('notes', 'HubSpot contacts.notes', 65_536), refused: says.notOneOf('lifecyclestage', '"vip"', 'HubSpot contacts.lifecyclestage', 'subscriber, .*, other') }),
        landed: { keys: (h) => h.hubspot!.sandbox.admin.listRecords('contacts').map((record) => record.properties.email), expected: ['ada@fit.example', 'grace@fit.example'] },
        holds: (h) => expect(h.hubspot!.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === 'ada@fit.example')?.properties.lifecyclestage).toBe('customer'),
      },
    ],
  },
  {
    title: 'HubSpot -> Dynamics 365: what Dataverse cannot hold is parked, the rest lands',
    source: 'hubspot',
    target: 'dynamics',
    objects: ['contact'],
    // The tenant syncs a HubSpot number property into Dataverse's preferred-contact-method choice.
    prepare: (h) => hubspotPropertyInto(h, 'dynamics', 'contact_method', 'number', 'preferredcontactmethodcode'),
    scenarios: [
      {
        // Dataverse enforces only SystemRequired columns; a contact's last name is business required, a
        // form rule the Web API does not check, so a contact without one lands.
        title: 'contacts: parks exactly the too-long and the out-of-range records with precise messages and writes the others',
        object: 'contact',
        records: () => hubspotContacts(50, 'contact_method', '2', '9'),
        parked: () => ({
          long: says.tooLong('lastname', 'Dynamics 365 contact.lastname', 50),
          refused: says.notOneOf('preferredcontactmethodcode', '9', 'Dynamics 365 contact.preferredcontactmethodcode', '1, 2, 3, 4, 5'),
        }),
        landed: { keys: (h) => column(h.dynamics!.sandbox.admin.listRecords('contacts'), 'emailaddress1'), expected: ['ada@fit.example', 'grace@fit.example', 'nameless@fit.example'] },
        holds: (h) => expect(h.dynamics!.sandbox.admin.listRecords('contacts').find((row) => row.emailaddress1 === 'ada@fit.example')).toMatchObject({ lastname: 'Lovelace', preferredcontactmethodcode: 2 }),
      },
    ],
  },
  {
    title: 'HubSpot -> Zoho CRM: what Zoho cannot hold is parked, the rest lands',
    source: 'hubspot',
    target: 'zoho',
    objects: ['contact'],
    // The tenant syncs a free-text HubSpot property into Zoho's Lead Source picklist.
    prepare: (h) => hubspotPropertyInto(h, 'zoho', 'source', 'string', 'Lead_Source'),
    scenarios: [
      {
        title: 'contacts: parks exactly the three records with precise messages and writes the others',
        object: 'contact',
        records: () => hubspotContacts(80, 'source', 'Trade Show', 'Billboard'),
        parked: () => ({
          long: says.tooLong('Last_Name', 'Zoho CRM Contacts.Last_Name', 80),
          missing: says.required('Last_Name', 'Zoho CRM Contacts.Last_Name'),
          refused: says.notOneOf('Lead_Source', '"Billboard"', 'Zoho CRM Contacts.Lead_Source', '-None-, .*, Chat'),
        }),
        landed: { keys: (h) => column(h.zoho!.sandbox.admin.listRecords('Contacts'), 'Email'), expected: ['ada@fit.example', 'grace@fit.example'] },
        holds: (h) => expect(h.zoho!.sandbox.admin.listRecords('Contacts').find((record) => record.Email === 'ada@fit.example')).toMatchObject({ Last_Name: 'Lovelace', Lead_Source: 'Trade Show' }),
      },
    ],
  },
  {
    title: 'HubSpot -> Pipedrive: what Pipedrive cannot hold is parked, the rest lands',
    source: 'hubspot',
    target: 'pipedrive',
    objects: ['contact', 'company'],
    // The tenant syncs a HubSpot number property into a Pipedrive single-option (enum) field, by option id.
    prepare: (h) => {
      const levelKey = h.pipedrive!.sandbox.admin.defineField('persons', 'Level', 'enum', ['Gold', 'Silver', 'Bronze']);
      const options = h.pipedrive!.sandbox.admin.fieldOptions('persons', levelKey).map((option) => String(option.id));
      return { ...hubspotPropertyInto(h, 'pipedrive', 'level', 'number', levelKey), named: { levelKey, gold: options[0]!, options: options.join(', ') } };
    },
    scenarios: [
      {
        // A v2 person needs no name [P9]: a contact without one lands (the missing-required case is the organization's name below).
        title: 'contacts: parks exactly the too-long and the bad-option records with precise messages and writes the others',
        object: 'contact',
        records: ({ gold }) => hubspotContacts(255, 'level', gold!, '999'),
        parked: ({ levelKey, options }) => ({
          long: says.tooLong('last_name', 'Pipedrive persons.last_name', 255),
          refused: says.notOneOf(levelKey!, '999', `Pipedrive persons.${levelKey!}`, options!),
        }),
        landed: {
          keys: (h) => h.pipedrive!.sandbox.admin.listRecords('persons').map((person) => (person.emails as { value: string }[])[0]?.value),
          expected: ['ada@fit.example', 'grace@fit.example', 'nameless@fit.example'],
        },
        holds: (h, { levelKey, gold }) => {
          const ada = h.pipedrive!.sandbox.admin.listRecords('persons').find((person) => (person.emails as { value: string }[])[0]?.value === 'ada@fit.example');
          expect(ada).toMatchObject({ last_name: 'Lovelace', custom_fields: { [levelKey!]: Number(gold) } });
        },
      },
      {
        title: 'companies: parks the too-long and the nameless organization with precise messages and writes the others',
        object: 'company',
        records: () => hubspotCompanies(255),
        parked: () => ({ long: says.tooLong('name', 'Pipedrive organizations.name', 255), missing: says.required('name', 'Pipedrive organizations.name') }),
        landed: { keys: (h) => column(h.pipedrive!.sandbox.admin.listRecords('organizations'), 'name'), expected: ['A'.repeat(255), 'Analytical Engines'] },
      },
    ],
  },
];

/** The source CRM's record of that object, created as a person would, by its id there. */
function createInSource(h: SyncHarness, source: ConstraintCase['source'], object: Scenario['object'], fields: Fields): string {
  if (source === 'hubspot') return h.hubspot!.sandbox.admin.createAsUser(object === 'contact' ? 'contacts' : 'companies', fields).id;
  return String(h.salesforce!.sandbox.admin.createAsUser(object === 'contact' ? 'Contact' : 'Account', fields).Id);
}

// By title: `$title` would print the titles quoted and cut short.
describe.each(cases.map((row) => [row.title, row] as const))('%s', (_title, row) => {
  let h: SyncHarness;
  let named: Named = {};
  // Scenarios run one after the other on one harness: what each parks adds to the workflow's list.
  let parkedSoFar = 0;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: [row.source, row.target], sync: { objects: row.objects, pollIntervalMs: 3_600_000, debounceMs: 100 } });
    const prepared = row.prepare(h);
    named = prepared.named ?? {};
    for (const [connection, fields] of Object.entries(prepared.overrides)) {
      const stored = await h.connectionsRepository.getConnection(connection);
      await h.connectionsRepository.updateSettings(connection, { ...stored!.settings, mappingOverride: { objects: { contact: { fields } } } });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each(row.scenarios.map((scenario) => [scenario.title, scenario] as const))('%s', async (_title, scenario) => {
    const sourceId = h[row.source]!.id;
    const targetId = h[row.target]!.id;
    const ids = Object.fromEntries(Object.entries(scenario.records(named)).map(([label, fields]) => [label, createInSource(h, row.source, scenario.object, fields)]));
    await h.notify(sourceId, { events: Object.entries(ids).map(([label, externalId]) => ({ objectType: scenario.object, externalId, eventId: `fit-${row.target}-${scenario.object}-${label}` })) });

    const expectedParked = scenario.parked(named);
    const parkedIds = Object.keys(expectedParked).map((label) => ids[label]);
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sourceId));
    const parkedHere = async () => (await handle.query(parkedRecordsQuery)).filter((record) => Object.values(ids).includes(record.sourceExternalId));
    await expect.poll(async () => (await parkedHere()).length, within).toBe(parkedIds.length);
    await expect.poll(() => scenario.landed.keys(h).sort(), within).toEqual([...scenario.landed.expected].sort());

    const bySource = new Map((await parkedHere()).map((record) => [record.sourceExternalId, record]));
    expect([...bySource.keys()].sort()).toEqual(parkedIds.sort());
    for (const record of bySource.values()) expect(record).toMatchObject({ targetConnectionId: targetId, reason: 'failed', error: { provider: row.target, errorClass: 'validation' } });
    for (const [label, message] of Object.entries(expectedParked)) {
      expect(bySource.get(ids[label]!)?.error.message).toMatch(new RegExp(`^${message.source} \\(${scenario.object} ${UUID}\\)$`));
    }
    scenario.holds?.(h, named);
    parkedSoFar += parkedIds.length;
    expect((await handle.query(parkedRecordsQuery)).length).toBe(parkedSoFar);
    expect((await h.syncStatus(sourceId)).parked).toBe(parkedSoFar);
  });
});
