/** The four sObjects the sandbox emulates, with the standard fields the connectors use. */
export const SOBJECT_TYPES = ['Contact', 'Account', 'Opportunity', 'Task'] as const;
export type SObjectType = (typeof SOBJECT_TYPES)[number];

export type FieldType = 'id' | 'string' | 'email' | 'boolean' | 'number' | 'date' | 'datetime' | 'reference';

export interface FieldDef {
  name: string;
  type: FieldType;
  /** False for system and formula fields: writing them is INVALID_FIELD_FOR_INSERT_UPDATE. */
  writable: boolean;
  requiredOnCreate?: boolean;
  defaultValue?: string | boolean;
  externalId?: boolean;
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
  { name: 'OwnerId', type: 'reference', writable: true },
];

const rw = (name: string, type: FieldType, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type, writable: true, ...extra });

const OBJECT_FIELDS: Record<SObjectType, { keyPrefix: string; fields: FieldDef[] }> = {
  Contact: {
    keyPrefix: '003',
    fields: [
      rw('FirstName', 'string'),
      rw('LastName', 'string', { requiredOnCreate: true }),
      { name: 'Name', type: 'string', writable: false },
      rw('Email', 'email'),
      rw('Phone', 'string'),
      rw('MobilePhone', 'string'),
      rw('Title', 'string'),
      rw('Department', 'string'),
      rw('AccountId', 'reference'),
      rw('MailingStreet', 'string'),
      rw('MailingCity', 'string'),
      rw('MailingCountry', 'string'),
      rw('LeadSource', 'string'),
      rw('Description', 'string'),
      rw('HasOptedOutOfEmail', 'boolean', { defaultValue: false }),
      rw('Sync_Id__c', 'string', { externalId: true }),
      rw('Company__c', 'string'),
    ],
  },
  Account: {
    keyPrefix: '001',
    fields: [
      rw('Name', 'string', { requiredOnCreate: true }),
      rw('Website', 'string'),
      rw('Industry', 'string'),
      rw('Phone', 'string'),
      rw('Type', 'string'),
      rw('BillingStreet', 'string'),
      rw('BillingCity', 'string'),
      rw('BillingCountry', 'string'),
      rw('NumberOfEmployees', 'number'),
      rw('AnnualRevenue', 'number'),
      rw('Description', 'string'),
      rw('ParentId', 'reference'),
      rw('Sync_Id__c', 'string', { externalId: true }),
    ],
  },
  Opportunity: {
    keyPrefix: '006',
    fields: [
      rw('Name', 'string', { requiredOnCreate: true }),
      rw('StageName', 'string', { requiredOnCreate: true }),
      rw('CloseDate', 'date', { requiredOnCreate: true }),
      rw('Amount', 'number'),
      rw('Probability', 'number'),
      rw('AccountId', 'reference'),
      rw('Type', 'string'),
      rw('LeadSource', 'string'),
      rw('Description', 'string'),
      { name: 'IsClosed', type: 'boolean', writable: false },
      { name: 'IsWon', type: 'boolean', writable: false },
      rw('Sync_Id__c', 'string', { externalId: true }),
    ],
  },
  Task: {
    keyPrefix: '00T',
    fields: [
      rw('Subject', 'string'),
      rw('Status', 'string', { defaultValue: 'Not Started' }),
      rw('Priority', 'string', { defaultValue: 'Normal' }),
      rw('ActivityDate', 'date'),
      rw('WhoId', 'reference'),
      rw('WhatId', 'reference'),
      rw('Type', 'string'),
      rw('Description', 'string'),
      { name: 'IsClosed', type: 'boolean', writable: false },
      rw('Sync_Id__c', 'string', { externalId: true }),
    ],
  },
};

/** Builds a fresh schema per sandbox: custom fields learnt at run time must not leak across sandboxes. */
export function createSchema(extraExternalIds: Partial<Record<SObjectType, string[]>> = {}): Map<SObjectType, SObjectDef> {
  const schema = new Map<SObjectType, SObjectDef>();
  for (const name of SOBJECT_TYPES) {
    const { keyPrefix, fields } = OBJECT_FIELDS[name];
    const def: SObjectDef = { name, keyPrefix, fields: new Map(), byLowerName: new Map() };
    for (const field of [...SYSTEM_FIELDS, ...fields]) addField(def, { ...field });
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
