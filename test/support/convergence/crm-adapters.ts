import type { WebhookDispatcher } from '../../../src/sandbox/core/webhook-dispatcher';
import { renderDateTime } from '../../../src/sandbox/dynamics/render';
import type { SyncHarness } from '../sync-harness';
import { mappedFields, normalise, parseStamp, type CrmName, type Field, type Stamp, type Values } from './model';

/**
 * Each CRM as a person sees it: the sandbox's admin surface, which writes as a person in the
 * vendor's UI would (webhooks fire as for a UI edit, and API write counters do not count them,
 * except Salesforce, which counts its UI writes too). Values are read and written by canonical
 * field name through each vendor's own field names; '' is empty.
 *
 * Modstamps, as each sandbox reports them on the record after a write (and the precision taken
 * from how they are written, see parseStamp):
 * - Salesforce `SystemModstamp`: milliseconds in the sandbox (`...T10:00:00.123+0000`), so 1 ms;
 *   but `.000` is how Salesforce itself writes every stamp (whole seconds), so a stamp that falls
 *   on `.000` is a whole-second one, 1,000 ms, as the product reads it (src/model/sync/edit-time.ts);
 * - HubSpot `lastmodifieddate`: milliseconds, 1 ms;
 * - Dataverse `modifiedon`: the sandbox stores milliseconds but its Web API (like Dataverse)
 *   returns whole seconds (render.ts renderDateTime), and that is the stamp the vendor reports:
 *   whole seconds, 1,000 ms;
 * - Pipedrive `update_time`: whole seconds, 1,000 ms;
 * - Zoho `Modified_Time`: whole seconds with the account's offset (`...T15:30:00+05:30`), 1,000 ms.
 */
export interface CopyView {
  externalId: string;
  values: Values;
  stamp: Stamp;
  /** The sync id the product wrote on the record, if any. */
  syncId: string | null;
}

export interface CrmAdapter {
  crm: CrmName;
  connectionId: string;
  /** Canonical contact fields the CRM's default mapping carries. */
  fields: Field[];
  /** Live (not deleted) contacts. */
  list(): CopyView[];
  get(externalId: string): CopyView | undefined;
  create(values: Values): CopyView;
  edit(externalId: string, changes: Values): CopyView;
  remove(externalId: string): void;
  /** API record writes the sandbox has counted, all objects. */
  writes(): number;
  webhooks: WebhookDispatcher;
  /** Webhooks that have to be registered with the vendor once the shim is there (Pipedrive). */
  subscribeWebhooks?(shimUrl: string): Promise<void>;
}

const text = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
};
const totalWrites = (snapshot: { recordWrites: Record<string, number> }): number => Object.values(snapshot.recordWrites).reduce((sum, count) => sum + count, 0);

/** Native field names per CRM (the default mappings' natives; Pipedrive's email and phone are lists). */
const NATIVE: Record<CrmName, Partial<Record<Field, string>>> = {
  salesforce: { firstName: 'FirstName', lastName: 'LastName', email: 'Email', phone: 'Phone', mobilePhone: 'MobilePhone', title: 'Title', city: 'MailingCity', country: 'MailingCountry' },
  hubspot: { firstName: 'firstname', lastName: 'lastname', email: 'email', phone: 'phone', mobilePhone: 'mobilephone', title: 'jobtitle', city: 'city', country: 'country' },
  dynamics: {
    firstName: 'firstname',
    lastName: 'lastname',
    email: 'emailaddress1',
    phone: 'telephone1',
    mobilePhone: 'mobilephone',
    title: 'jobtitle',
    city: 'address1_city',
    country: 'address1_country',
  },
  pipedrive: { firstName: 'first_name', lastName: 'last_name', email: 'email', phone: 'phone', title: 'job_title' },
  zoho: { firstName: 'First_Name', lastName: 'Last_Name', email: 'Email', phone: 'Phone', mobilePhone: 'Mobile', title: 'Title', city: 'Mailing_City', country: 'Mailing_Country' },
};

function fromNative(crm: keyof typeof NATIVE, record: Record<string, unknown>): Values {
  const values: Values = {};
  for (const field of mappedFields(crm)) values[field] = text(record[NATIVE[crm][field] as string]);
  return values;
}

function toNative(crm: keyof typeof NATIVE, values: Values, empty: '' | null): Record<string, unknown> {
  const native: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(values) as [Field, string | undefined][]) {
    const name = NATIVE[crm][field];
    if (!name) throw new Error(`${crm} has no ${field} in its default mapping`);
    native[name] = value === undefined || value === '' ? empty : value;
  }
  return native;
}

export function adaptersFor(h: SyncHarness, crms: readonly CrmName[]): CrmAdapter[] {
  return crms.map((crm) => {
    switch (crm) {
      case 'salesforce':
        return salesforceAdapter(h);
      case 'hubspot':
        return hubspotAdapter(h);
      case 'dynamics':
        return dynamicsAdapter(h);
      case 'pipedrive':
        return pipedriveAdapter(h);
      case 'zoho':
        return zohoAdapter(h);
    }
  });
}

/** A Salesforce stamp: `.000` cannot be told from the whole seconds Salesforce writes. */
export function salesforceStamp(text: string): Stamp {
  const stamp = parseStamp(text);
  return stamp.ms % 1000 === 0 ? { ...stamp, precisionMs: 1000 } : stamp;
}

function salesforceAdapter(h: SyncHarness): CrmAdapter {
  const { id, sandbox } = h.salesforce ?? missing('salesforce');
  const admin = sandbox.admin;
  const view = (record: Record<string, unknown>): CopyView => ({
    externalId: String(record.Id),
    values: fromNative('salesforce', record),
    stamp: salesforceStamp(text(record.SystemModstamp)),
    syncId: text(record.Sync_Id__c) || null,
  });
  return {
    crm: 'salesforce',
    connectionId: id,
    fields: mappedFields('salesforce'),
    list: () => admin.listRecords('Contact').map(view),
    get(externalId) {
      const record = admin.getRecord('Contact', externalId);
      return record && record.IsDeleted !== true ? view(record) : undefined;
    },
    create: (values) => view(admin.createAsUser('Contact', toNative('salesforce', values, null))),
    edit: (externalId, changes) => view(admin.editAsUser('Contact', externalId, toNative('salesforce', changes, null))),
    remove: (externalId) => admin.deleteRecord('Contact', externalId),
    writes: () => totalWrites(sandbox.counters.snapshot()),
    webhooks: sandbox.webhooks,
  };
}

function hubspotAdapter(h: SyncHarness): CrmAdapter {
  const { id, sandbox } = h.hubspot ?? missing('hubspot');
  const admin = sandbox.admin;
  const view = (record: { id: string; properties: Record<string, string | null> }): CopyView => ({
    externalId: record.id,
    values: fromNative('hubspot', record.properties),
    stamp: parseStamp(String(record.properties.lastmodifieddate)),
    syncId: record.properties.crm_sync_id || null,
  });
  return {
    crm: 'hubspot',
    connectionId: id,
    fields: mappedFields('hubspot'),
    list: () => admin.listRecords('contacts', { archived: false }).map(view),
    get(externalId) {
      const record = admin.getRecord('contacts', externalId);
      return record && !record.archived ? view(record) : undefined;
    },
    create: (values) => view(admin.createAsUser('contacts', toNative('hubspot', values, ''))),
    edit: (externalId, changes) => view(admin.changeAsUser('contacts', externalId, toNative('hubspot', changes, ''))),
    remove: (externalId) => void admin.archive('contacts', externalId),
    writes: () => totalWrites(sandbox.counters.snapshot()),
    webhooks: sandbox.webhooks,
  };
}

function dynamicsAdapter(h: SyncHarness): CrmAdapter {
  const { id, sandbox } = h.dynamics ?? missing('dynamics');
  const admin = sandbox.admin;
  const view = (row: Record<string, unknown>): CopyView => ({
    externalId: String(row.contactid),
    values: fromNative('dynamics', row),
    // The stamp as the Web API returns it: whole seconds.
    stamp: parseStamp(text(renderDateTime(row.modifiedon))),
    syncId: text(row.crm_syncid) || null,
  });
  return {
    crm: 'dynamics',
    connectionId: id,
    fields: mappedFields('dynamics'),
    list: () => admin.listRecords('contacts').map(view),
    get(externalId) {
      const row = admin.getRecord('contacts', externalId);
      return row ? view(row) : undefined;
    },
    create: (values) => view(admin.uiCreate('contacts', toNative('dynamics', values, null))),
    edit: (externalId, changes) => view(admin.uiUpdate('contacts', externalId, toNative('dynamics', changes, null))),
    remove: (externalId) => admin.uiDelete('contacts', externalId),
    writes: () => totalWrites(sandbox.counters.snapshot()),
    webhooks: sandbox.webhooks,
  };
}

function pipedriveAdapter(h: SyncHarness): CrmAdapter {
  const connection = h.pipedrive ?? missing('pipedrive');
  const { id, sandbox } = connection;
  const admin = sandbox.admin;
  const syncIdKey = admin.syncIdFieldKey('persons');
  const primary = (list: unknown): string => {
    if (!Array.isArray(list) || list.length === 0) return '';
    const entries = list as { value?: unknown; primary?: unknown }[];
    return text((entries.find((entry) => entry.primary === true) ?? entries[0])?.value);
  };
  const view = (record: Record<string, unknown>): CopyView => ({
    externalId: String(record.id),
    values: fromNative('pipedrive', { ...record, email: primary(record.emails), phone: primary(record.phones) }),
    stamp: parseStamp(text(record.update_time)),
    syncId: text((record.custom_fields as Record<string, unknown> | null | undefined)?.[syncIdKey]) || null,
  });
  // A person types into the UI: the email and phone lists get one primary entry (or none).
  const body = (values: Values): Record<string, unknown> => {
    const native = toNative('pipedrive', values, null);
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(native)) {
      if (name === 'email') out.emails = value === null ? [] : [{ value, primary: true, label: 'work' }];
      else if (name === 'phone') out.phones = value === null ? [] : [{ value, primary: true, label: 'work' }];
      else out[name] = value;
    }
    return out;
  };
  return {
    crm: 'pipedrive',
    connectionId: id,
    fields: mappedFields('pipedrive'),
    list: () => admin.listRecords('persons').filter((record) => record.is_deleted !== true).map(view),
    get(externalId) {
      const record = admin.getRecord('persons', Number(externalId));
      return record && record.is_deleted !== true ? view(record) : undefined;
    },
    create: (values) => view(admin.createAsUser('persons', body(values))),
    edit: (externalId, changes) => view(admin.changeAsUser('persons', Number(externalId), body(changes))),
    remove: (externalId) => void admin.deleteAsUser('persons', Number(externalId)),
    writes: () => totalWrites(sandbox.counters.snapshot()),
    webhooks: sandbox.webhooks,
    // Pipedrive webhooks are subscriptions made through its API (an admin does it in Settings).
    async subscribeWebhooks(shimUrl) {
      const response = await fetch(`${sandbox.url}/v1/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-token': sandbox.credentials.apiToken },
        body: JSON.stringify({
          subscription_url: `${shimUrl}/webhooks/pipedrive/${id}`,
          event_action: '*',
          event_object: 'person',
          version: '2.0',
          http_auth_user: sandbox.credentials.webhookUser,
          http_auth_password: sandbox.credentials.webhookPassword,
        }),
      });
      if (response.status !== 201) throw new Error(`pipedrive webhook subscription refused: ${response.status} ${await response.text()}`);
    },
  };
}

function zohoAdapter(h: SyncHarness): CrmAdapter {
  const { id, sandbox } = h.zoho ?? missing('zoho');
  const admin = sandbox.admin;
  const view = (record: Record<string, unknown>): CopyView => ({
    externalId: text(record.id),
    values: fromNative('zoho', record),
    stamp: parseStamp(text(record.Modified_Time)),
    syncId: text(record.CRM_Sync_Id) || null,
  });
  return {
    crm: 'zoho',
    connectionId: id,
    fields: mappedFields('zoho'),
    list: () => admin.listRecords('Contacts').map(view),
    get(externalId) {
      const record = admin.getRecord('Contacts', externalId);
      return record ? view(record) : undefined;
    },
    create: (values) => view(admin.createAsUser('Contacts', toNative('zoho', values, null))),
    edit: (externalId, changes) => view(admin.changeAsUser('Contacts', externalId, toNative('zoho', changes, null))),
    remove: (externalId) => void admin.deleteAsUser('Contacts', externalId),
    writes: () => totalWrites(sandbox.counters.snapshot()),
    webhooks: sandbox.webhooks,
    // Zoho notifications are channels opened through its API (actions/watch) with the connection's token.
    async subscribeWebhooks(shimUrl) {
      const credentials = await h.connectionsRepository.loadCredentials(id);
      const token = (credentials.webhook as { token?: string } | undefined)?.token;
      const { accountsServer, apiDomain, clientId, clientSecret, refreshToken } = sandbox.credentials;
      const grant = await fetch(`${accountsServer}/oauth/v2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken }),
      });
      const { access_token: accessToken } = (await grant.json()) as { access_token?: string };
      const response = await fetch(`${apiDomain}/crm/v6/actions/watch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Zoho-oauthtoken ${accessToken ?? ''}` },
        body: JSON.stringify({ watch: [{ channel_id: '1000000068001', events: ['Contacts.all'], notify_url: `${shimUrl}/webhooks/zoho/${id}`, token }] }),
      });
      if (!response.ok) throw new Error(`zoho watch refused: ${response.status} ${await response.text()}`);
    },
  };
}

function missing(crm: CrmName): never {
  throw new Error(`the harness has no ${crm} connection`);
}

/** A person's email as the records show it, for matching. */
export function emailOf(copy: CopyView): string {
  return normalise('email', copy.values.email);
}
