/** The sObjects the sandbox emulates, with the standard fields the connectors use. */
export const SOBJECT_TYPES = ['Contact', 'Account', 'Opportunity', 'Task', 'Event', 'OpportunityContactRole', 'User'] as const;
export type SObjectType = (typeof SOBJECT_TYPES)[number];

export type FieldType = 'id' | 'string' | 'email' | 'boolean' | 'number' | 'date' | 'datetime' | 'reference';

export interface FieldDef {
  name: string;
  type: FieldType;
  /** False for system and formula fields: writing them is INVALID_FIELD_FOR_INSERT_UPDATE. */
  writable: boolean;
  /** Set on create only (describe `updateable: false`), e.g. OpportunityContactRole.OpportunityId [S63]. */
  createOnly?: boolean;
  /** A reference that must name a live record of this type (else INVALID_CROSS_REFERENCE_KEY). */
  refersTo?: SObjectType;
  requiredOnCreate?: boolean;
  defaultValue?: string | boolean;
  externalId?: boolean;
  /** Describe's `label`: the vendor names the field by it in error messages (STRING_TOO_LONG). */
  label?: string;
  /** Describe's `type` where it is finer than the stored type (phone, url, textarea, picklist). */
  describeType?: string;
  /** Maximum characters of a text value; longer is STRING_TOO_LONG (API >= 15.0 refuses, never truncates). */
  length?: number;
  /** Picklist values; a restricted picklist refuses others (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST). */
  picklist?: { values: readonly string[]; restricted: boolean };
}

export interface SObjectDef {
  name: SObjectType;
  keyPrefix: string;
  fields: Map<string, FieldDef>;
  /** Lower-case name -> canonical name: the API matches field names case-insensitively. */
  byLowerName: Map<string, string>;
}

export const SYSTEM_FIELDS: FieldDef[] = [
  { name: 'Id', type: 'id', writable: false },
  { name: 'IsDeleted', type: 'boolean', writable: false },
  { name: 'CreatedDate', type: 'datetime', writable: false },
  { name: 'CreatedById', type: 'reference', writable: false },
  { name: 'LastModifiedDate', type: 'datetime', writable: false },
  { name: 'LastModifiedById', type: 'reference', writable: false },
  { name: 'SystemModstamp', type: 'datetime', writable: false },
  // Polymorphic in Salesforce (a queue owns some objects); the sandbox's owners are users [S116].
  { name: 'OwnerId', type: 'reference', writable: true, refersTo: 'User', label: 'Owner ID' },
];

const rw = (name: string, type: FieldType, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type, writable: true, ...extra });
/** A text field of `length` characters, labelled as Salesforce labels it in errors. */
const text = (name: string, label: string, length: number, extra: Partial<FieldDef> = {}): FieldDef => rw(name, 'string', { label, length, ...extra });
const picklist = (name: string, label: string, values: readonly string[], restricted: boolean, extra: Partial<FieldDef> = {}): FieldDef =>
  rw(name, 'string', { label, length: 255, describeType: 'picklist', picklist: { values, restricted }, ...extra });

/** Standard value sets of a new org (Setup > Picklist Value Sets). */
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
const OPPORTUNITY_STAGES = ['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers', 'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost'];
/**
 * The Developer Edition's sample custom picklist on Contact. Custom picklists are created
 * restricted by default (Spring '17): this one refuses values outside its set.
 */
const CONTACT_LEVELS = ['Primary', 'Secondary', 'Tertiary'];

/** Task and Event share the activity Type picklist. */
const ACTIVITY_TYPES = ['Call', 'Email', 'Meeting', 'Other'];
/**
 * TaskSubtype's restricted values: Task, Email, ListEmail, Call [S70]; Cadence and LinkedIn came
 * with Sales Engagement (UNCONFIRMED which API version).
 */
export const TASK_SUBTYPES = ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn'];

/** Contact roles of an org without customised Setup > Contact Roles on Opportunities [S65]. */
const CONTACT_ROLES = ['Business User', 'Decision Maker', 'Economic Buyer', 'Economic Decision Maker', 'Evaluator', 'Executive Sponsor', 'Influencer', 'Technical Buyer', 'Other'];

const OBJECT_FIELDS: Record<SObjectType, { keyPrefix: string; fields: FieldDef[]; noOwner?: boolean; searchable?: false }> = {
  Contact: {
    keyPrefix: '003',
    fields: [
      text('FirstName', 'First Name', 40),
      text('LastName', 'Last Name', 80, { requiredOnCreate: true }),
      { name: 'Name', type: 'string', writable: false, label: 'Full Name', length: 121 },
      rw('Email', 'email', { label: 'Email', length: 80 }),
      text('Phone', 'Business Phone', 40, { describeType: 'phone' }),
      text('MobilePhone', 'Mobile Phone', 40, { describeType: 'phone' }),
      text('Title', 'Title', 128),
      text('Department', 'Department', 80),
      rw('AccountId', 'reference', { label: 'Account ID' }),
      text('MailingStreet', 'Mailing Street', 255, { describeType: 'textarea' }),
      text('MailingCity', 'Mailing City', 40),
      text('MailingCountry', 'Mailing Country', 80),
      picklist('LeadSource', 'Lead Source', LEAD_SOURCES, false),
      text('Description', 'Contact Description', 32_000, { describeType: 'textarea' }),
      rw('HasOptedOutOfEmail', 'boolean', { defaultValue: false, label: 'Email Opt Out' }),
      text('Sync_Id__c', 'Sync Id', 255, { externalId: true }),
      text('Company__c', 'Company', 255),
      picklist('Level__c', 'Level', CONTACT_LEVELS, true),
    ],
  },
  Account: {
    keyPrefix: '001',
    fields: [
      text('Name', 'Account Name', 255, { requiredOnCreate: true }),
      text('Website', 'Website', 255, { describeType: 'url' }),
      picklist('Industry', 'Industry', ['Agriculture', 'Banking', 'Consulting', 'Education', 'Electronics', 'Finance', 'Healthcare', 'Manufacturing', 'Media', 'Retail', 'Technology', 'Other'], false),
      text('Phone', 'Account Phone', 40, { describeType: 'phone' }),
      picklist('Type', 'Account Type', ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller', 'Installation Partner', 'Technology Partner', 'Other'], false),
      text('BillingStreet', 'Billing Street', 255, { describeType: 'textarea' }),
      text('BillingCity', 'Billing City', 40),
      text('BillingCountry', 'Billing Country', 80),
      rw('NumberOfEmployees', 'number'),
      rw('AnnualRevenue', 'number'),
      text('Description', 'Account Description', 32_000, { describeType: 'textarea' }),
      rw('ParentId', 'reference'),
      text('Sync_Id__c', 'Sync Id', 255, { externalId: true }),
    ],
  },
  Opportunity: {
    keyPrefix: '006',
    fields: [
      text('Name', 'Name', 120, { requiredOnCreate: true }),
      picklist('StageName', 'Stage', OPPORTUNITY_STAGES, false, { requiredOnCreate: true }),
      rw('CloseDate', 'date', { requiredOnCreate: true }),
      rw('Amount', 'number'),
      rw('Probability', 'number'),
      rw('AccountId', 'reference'),
      picklist('Type', 'Opportunity Type', ['Existing Customer - Upgrade', 'Existing Customer - Replacement', 'Existing Customer - Downgrade', 'New Customer'], false),
      picklist('LeadSource', 'Lead Source', LEAD_SOURCES, false),
      text('Description', 'Description', 32_000, { describeType: 'textarea' }),
      { name: 'IsClosed', type: 'boolean', writable: false },
      { name: 'IsWon', type: 'boolean', writable: false },
      text('Sync_Id__c', 'Sync Id', 255, { externalId: true }),
    ],
  },
  Task: {
    keyPrefix: '00T',
    fields: [
      text('Subject', 'Subject', 255, { describeType: 'combobox' }),
      picklist('Status', 'Status', ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'], false, { defaultValue: 'Not Started' }),
      picklist('Priority', 'Priority', ['High', 'Normal', 'Low'], false, { defaultValue: 'Normal' }),
      rw('ActivityDate', 'date'),
      rw('WhoId', 'reference'),
      rw('WhatId', 'reference'),
      picklist('Type', 'Type', ACTIVITY_TYPES, false),
      // Set on create only, from a restricted set [S70]; what an API create without it holds is UNCONFIRMED (Task chosen).
      picklist('TaskSubtype', 'Task Subtype', TASK_SUBTYPES, true, { createOnly: true, defaultValue: 'Task' }),
      text('Description', 'Comments', 32_000, { describeType: 'textarea' }),
      { name: 'IsClosed', type: 'boolean', writable: false },
      text('Sync_Id__c', 'Sync Id', 255, { externalId: true }),
    ],
  },
  // A calendar event [S71]: its time is kept in several fields at once (event-times.ts derives them).
  Event: {
    keyPrefix: '00U',
    fields: [
      text('Subject', 'Subject', 255, { describeType: 'combobox' }),
      rw('StartDateTime', 'datetime', { label: 'Start' }),
      rw('EndDateTime', 'datetime', { label: 'End' }),
      rw('ActivityDateTime', 'datetime', { label: 'Due Date Time' }),
      rw('ActivityDate', 'date', { label: 'Due Date Only' }),
      rw('DurationInMinutes', 'number', { label: 'Duration' }),
      rw('IsAllDayEvent', 'boolean', { label: 'All-Day Event', defaultValue: false }),
      { name: 'EndDate', type: 'date', writable: false, label: 'End Date' },
      rw('WhoId', 'reference'),
      rw('WhatId', 'reference'),
      text('Location', 'Location', 255),
      picklist('ShowAs', 'Show Time As', ['Busy', 'OutOfOffice', 'Free'], false, { defaultValue: 'Busy' }),
      picklist('Type', 'Type', ACTIVITY_TYPES, false),
      picklist('EventSubtype', 'Event Subtype', ['Event'], true, { createOnly: true, defaultValue: 'Event' }),
      text('Description', 'Description', 32_000, { describeType: 'textarea' }),
      rw('IsPrivate', 'boolean', { label: 'Private', defaultValue: false }),
      text('Sync_Id__c', 'Sync Id', 255, { externalId: true }),
    ],
  },
  // A junction object controlled by its opportunity: no owner, no custom fields, not searchable [S63][S64].
  OpportunityContactRole: {
    keyPrefix: '00K',
    noOwner: true,
    searchable: false,
    fields: [
      rw('OpportunityId', 'reference', { label: 'Opportunity ID', requiredOnCreate: true, createOnly: true, refersTo: 'Opportunity' }),
      rw('ContactId', 'reference', { label: 'Contact ID', requiredOnCreate: true, refersTo: 'Contact' }),
      picklist('Role', 'Role', CONTACT_ROLES, false),
      rw('IsPrimary', 'boolean', { label: 'Primary', defaultValue: false }),
    ],
  },
  // The org's users, seeded with the sandbox (sandbox/core/users.ts): queryable, not administered
  // through this API (creating users needs a profile and a licence), so their fields are read-only here [S117].
  User: {
    keyPrefix: '005',
    noOwner: true,
    searchable: false,
    fields: [
      { name: 'Username', type: 'string', writable: false, label: 'Username', length: 80 },
      { name: 'Email', type: 'email', writable: false, label: 'Email', length: 128 },
      { name: 'FirstName', type: 'string', writable: false, label: 'First Name', length: 40 },
      { name: 'LastName', type: 'string', writable: false, label: 'Last Name', length: 80 },
      { name: 'Name', type: 'string', writable: false, label: 'Full Name', length: 121 },
      { name: 'IsActive', type: 'boolean', writable: false, label: 'Active' },
    ],
  },
};

/** Whether SOSL searches a type when no RETURNING names it (junction objects are not searchable). */
export function isSearchable(type: SObjectType): boolean {
  return OBJECT_FIELDS[type].searchable !== false;
}

/** Builds a fresh schema per sandbox: custom fields learnt at run time must not leak across sandboxes. */
export function createSchema(extraExternalIds: Partial<Record<SObjectType, string[]>> = {}): Map<SObjectType, SObjectDef> {
  const schema = new Map<SObjectType, SObjectDef>();
  for (const name of SOBJECT_TYPES) {
    const { keyPrefix, fields, noOwner } = OBJECT_FIELDS[name];
    const def: SObjectDef = { name, keyPrefix, fields: new Map(), byLowerName: new Map() };
    const system = noOwner ? SYSTEM_FIELDS.filter((field) => field.name !== 'OwnerId') : SYSTEM_FIELDS;
    for (const field of [...system, ...fields]) addField(def, { ...field });
    for (const extra of extraExternalIds[name] ?? []) {
      const existing = def.fields.get(resolveFieldName(def, extra) ?? '');
      if (existing) existing.externalId = true;
      else addField(def, rw(extra, 'string', { externalId: true }));
    }
    schema.set(name, def);
  }
  return schema;
}

export function addField(def: SObjectDef, field: FieldDef): FieldDef {
  def.fields.set(field.name, field);
  def.byLowerName.set(field.name.toLowerCase(), field.name);
  return field;
}

export function resolveFieldName(def: SObjectDef, name: string): string | undefined {
  return def.byLowerName.get(name.toLowerCase());
}

export function isCustomFieldName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*__c$/.test(name) && !name.includes('___');
}

/** Case-insensitive lookup of an sObject name, as the API does in paths and SOQL. */
export function resolveTypeName(name: string): SObjectType | undefined {
  const lower = name.toLowerCase();
  return SOBJECT_TYPES.find((type) => type.toLowerCase() === lower);
}
