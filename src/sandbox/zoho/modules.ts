/**
 * The four modules the sandbox serves, as data: field API names and types, mandatory fields and
 * the system-defined duplicate check field [Z5]. Lookups hold `{name, id}` on read.
 */
export const MODULES = ['Contacts', 'Accounts', 'Deals', 'Tasks', 'Calls', 'Events'] as const;
export type ZohoModule = (typeof MODULES)[number];

export type FieldKind = 'text' | 'email' | 'phone' | 'website' | 'integer' | 'double' | 'currency' | 'date' | 'datetime' | 'picklist' | 'textarea' | 'lookup' | 'participants' | 'owner';

export interface FieldSchema {
  kind: FieldKind;
  /** "Do not allow duplicate values" (user-defined unique field) or the system duplicate check field. */
  unique?: boolean;
  /** Lookup target module. */
  lookup?: ZohoModule;
  custom?: boolean;
  /** Longest text the field holds (`length` in the field metadata); a longer value is INVALID_DATA with `maximum_length`. */
  length?: number;
  /** A picklist's values (`pick_list_values[].actual_value`); any other value is INVALID_DATA. Absent = not checked. */
  options?: readonly string[];
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

/**
 * Lengths of the standard fields: `Last_Name` holds 80 [Z15]; the others follow Zoho's field
 * settings as commonly seen (UNCONFIRMED, the API describes them per organisation in `length`).
 * A single-line custom text field holds 255 [Z15].
 */
export const TEXT_LENGTH = 255;
const NAME = 40;
const LAST_NAME = 80;
const EMAIL = 100;
const PHONE = 30;
const CITY = 30;
const TEXTAREA = 32_000;

/** Zoho's default Lead Source values on Contacts (UNCONFIRMED: the organisation's layout decides). */
export const LEAD_SOURCES = ['-None-', 'Advertisement', 'Cold Call', 'Employee Referral', 'External Referral', 'Online Store', 'Partner', 'Public Relations', 'Sales Email Alias', 'Seminar Partner', 'Internal Seminar', 'Trade Show', 'Web Download', 'Web Research', 'Chat'];
const DEAL_STAGES = ['Qualification', 'Needs Analysis', 'Value Proposition', 'Identify Decision Makers', 'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost', 'Closed Lost to Competition'];
const TASK_STATUSES = ['Not Started', 'Deferred', 'In Progress', 'Completed', 'Waiting for input'];
const TASK_PRIORITIES = ['Highest', 'High', 'Normal', 'Low', 'Lowest'];
/** Call types as integrations write them (secondary [Z26]); whether an organisation can add more is UNCONFIRMED. */
const CALL_TYPES = ['Outbound', 'Inbound', 'Missed'];

export function defaultSchemas(syncIdField: string): Record<ZohoModule, ModuleSchema> {
  const syncId: FieldSchema = { kind: 'text', unique: true, custom: true, length: TEXT_LENGTH };
  return {
    Contacts: {
      systemDuplicateCheck: ['Email'],
      nameField: 'Full_Name',
      mandatory: ['Last_Name'],
      fields: {
        Owner: { kind: 'owner' },
        First_Name: { kind: 'text', length: NAME },
        Last_Name: { kind: 'text', length: LAST_NAME },
        Full_Name: { kind: 'text' },
        Email: { kind: 'email', length: EMAIL },
        Phone: { kind: 'phone', length: PHONE },
        Mobile: { kind: 'phone', length: PHONE },
        Title: { kind: 'text', length: EMAIL },
        Mailing_City: { kind: 'text', length: CITY },
        Mailing_Country: { kind: 'text', length: CITY },
        Lead_Source: { kind: 'picklist', options: LEAD_SOURCES },
        Account_Name: { kind: 'lookup', lookup: 'Accounts' },
        [syncIdField]: syncId,
      },
    },
    Accounts: {
      systemDuplicateCheck: ['Account_Name'],
      nameField: 'Account_Name',
      mandatory: ['Account_Name'],
      fields: {
        Owner: { kind: 'owner' },
        Account_Name: { kind: 'text', length: 200 },
        Website: { kind: 'website', length: TEXT_LENGTH },
        Phone: { kind: 'phone', length: PHONE },
        // Values not checked: crm-sync's fake data and other CRMs' industries are free text (README).
        Industry: { kind: 'picklist' },
        Billing_City: { kind: 'text', length: CITY },
        Billing_Country: { kind: 'text', length: CITY },
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
        Owner: { kind: 'owner' },
        Deal_Name: { kind: 'text', length: 120 },
        Amount: { kind: 'currency' },
        Stage: { kind: 'picklist', options: DEAL_STAGES },
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
        Owner: { kind: 'owner' },
        Subject: { kind: 'text', length: TEXT_LENGTH },
        Description: { kind: 'textarea', length: TEXTAREA },
        Due_Date: { kind: 'date' },
        Status: { kind: 'picklist', options: TASK_STATUSES },
        Priority: { kind: 'picklist', options: TASK_PRIORITIES },
        // What_Id points into the module `$se_module` names (Accounts or Deals here) [Z20].
        What_Id: { kind: 'lookup', lookup: 'Accounts' },
        $se_module: { kind: 'picklist', options: ['Accounts', 'Deals'] },
        Who_Id: { kind: 'lookup', lookup: 'Contacts' },
        [syncIdField]: syncId,
      },
    },
    // Calls [Z26]: type, start time and duration (`mm:ss`); What_Id / $se_module / Who_Id as on Tasks.
    Calls: {
      systemDuplicateCheck: [],
      nameField: 'Subject',
      mandatory: ['Subject', 'Call_Type', 'Call_Start_Time'],
      fields: {
        Owner: { kind: 'owner' },
        Subject: { kind: 'text', length: TEXT_LENGTH },
        Description: { kind: 'textarea', length: TEXTAREA },
        Call_Type: { kind: 'picklist', options: CALL_TYPES },
        Call_Start_Time: { kind: 'datetime' },
        Call_Duration: { kind: 'text', length: 10 },
        Call_Purpose: { kind: 'picklist' },
        What_Id: { kind: 'lookup', lookup: 'Accounts' },
        $se_module: { kind: 'picklist', options: ['Accounts', 'Deals'] },
        Who_Id: { kind: 'lookup', lookup: 'Contacts' },
        [syncIdField]: syncId,
      },
    },
    // Events (Meetings in the UI) [Z27]: title, start and end, Participants; What_Id / $se_module as on Tasks.
    Events: {
      systemDuplicateCheck: [],
      nameField: 'Event_Title',
      mandatory: ['Event_Title', 'Start_DateTime', 'End_DateTime'],
      fields: {
        Owner: { kind: 'owner' },
        Event_Title: { kind: 'text', length: TEXT_LENGTH },
        Description: { kind: 'textarea', length: TEXTAREA },
        Start_DateTime: { kind: 'datetime' },
        End_DateTime: { kind: 'datetime' },
        Venue: { kind: 'text', length: TEXT_LENGTH },
        Participants: { kind: 'participants' },
        What_Id: { kind: 'lookup', lookup: 'Accounts' },
        $se_module: { kind: 'picklist', options: ['Accounts', 'Deals'] },
        Who_Id: { kind: 'lookup', lookup: 'Contacts' },
        [syncIdField]: syncId,
      },
    },
  };
}

/** Modules whose What_Id looks up the module `$se_module` names [Z20][Z26][Z27]. */
export const WHAT_ID_MODULES: ReadonlySet<ZohoModule> = new Set(['Tasks', 'Calls', 'Events']);

/** Zoho's default contact roles (`GET /Contacts/roles` [Z23]); the names are UNCONFIRMED, an organisation edits them. */
export const DEFAULT_CONTACT_ROLES = ['Purchasing', 'Technical Buyer', 'Economic Buyer', 'Evaluator', 'Executive Sponsor', 'Influencer', 'Other'] as const;

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
