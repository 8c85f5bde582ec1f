/**
 * The four modules the sandbox serves, as data: field API names and types, mandatory fields and
 * the system-defined duplicate check field [Z5]. Lookups hold `{name, id}` on read.
 */
export const MODULES = ['Contacts', 'Accounts', 'Deals', 'Tasks'] as const;
export type ZohoModule = (typeof MODULES)[number];

export type FieldKind = 'text' | 'email' | 'phone' | 'website' | 'integer' | 'double' | 'currency' | 'date' | 'datetime' | 'picklist' | 'textarea' | 'lookup';

export interface FieldSchema {
  kind: FieldKind;
  /** "Do not allow duplicate values" (user-defined unique field) or the system duplicate check field. */
  unique?: boolean;
  /** Lookup target module. */
  lookup?: ZohoModule;
  custom?: boolean;
}

export interface ModuleSchema {
  /** The field that names a record (`display_name` in the deleted listing, `name` in lookups). */
  nameField: string;
  /**
   * System-defined duplicate check fields [Z5]: what an upsert without `duplicate_check_fields`
   * matches on (Contacts by Email, Accounts by name...). Not enforced as unique on insert.
   */
  systemDuplicateCheck: readonly string[];
  mandatory: readonly string[];
  fields: Record<string, FieldSchema>;
}

/** The custom field crm-sync's set-up adds to each module, unique, for the canonical sync id. */
export const DEFAULT_SYNC_ID_FIELD = 'CRM_Sync_Id';

export function defaultSchemas(syncIdField: string): Record<ZohoModule, ModuleSchema> {
  const syncId: FieldSchema = { kind: 'text', unique: true, custom: true };
  return {
    Contacts: {
      systemDuplicateCheck: ['Email'],
      nameField: 'Full_Name',
      mandatory: ['Last_Name'],
      fields: {
        First_Name: { kind: 'text' },
        Last_Name: { kind: 'text' },
        Full_Name: { kind: 'text' },
        Email: { kind: 'email' },
        Phone: { kind: 'phone' },
        Mobile: { kind: 'phone' },
        Title: { kind: 'text' },
        Mailing_City: { kind: 'text' },
        Mailing_Country: { kind: 'text' },
        Account_Name: { kind: 'lookup', lookup: 'Accounts' },
        [syncIdField]: syncId,
      },
    },
    Accounts: {
      systemDuplicateCheck: ['Account_Name'],
      nameField: 'Account_Name',
      mandatory: ['Account_Name'],
      fields: {
        Account_Name: { kind: 'text' },
        Website: { kind: 'website' },
        Phone: { kind: 'phone' },
        Industry: { kind: 'picklist' },
        Billing_City: { kind: 'text' },
        Billing_Country: { kind: 'text' },
        Employees: { kind: 'integer' },
        Annual_Revenue: { kind: 'currency' },
        [syncIdField]: syncId,
      },
    },
    Deals: {
      systemDuplicateCheck: ['Deal_Name'],
      nameField: 'Deal_Name',
      mandatory: ['Deal_Name'],
      fields: {
        Deal_Name: { kind: 'text' },
        Amount: { kind: 'currency' },
        Stage: { kind: 'picklist' },
        Closing_Date: { kind: 'date' },
        Probability: { kind: 'integer' },
        Account_Name: { kind: 'lookup', lookup: 'Accounts' },
        Contact_Name: { kind: 'lookup', lookup: 'Contacts' },
        [syncIdField]: syncId,
      },
    },
    Tasks: {
      systemDuplicateCheck: [],
      nameField: 'Subject',
      mandatory: ['Subject'],
      fields: {
        Subject: { kind: 'text' },
        Description: { kind: 'textarea' },
        Due_Date: { kind: 'date' },
        Status: { kind: 'picklist' },
        Priority: { kind: 'picklist' },
        What_Id: { kind: 'lookup', lookup: 'Accounts' },
        Who_Id: { kind: 'lookup', lookup: 'Contacts' },
        [syncIdField]: syncId,
      },
    },
  };
}

export function isModule(value: string): value is ZohoModule {
  return (MODULES as readonly string[]).includes(value);
}

/** Zoho renders datetimes in the organisation's time zone, to the second: `2019-07-25T15:26:49+05:30` [Z7]. */
export function renderDateTime(epochMs: number, offsetMinutes: number): string {
  const shifted = new Date(Math.floor(epochMs / 1000) * 1000 + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${shifted}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
