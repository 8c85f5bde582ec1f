import { ACTIVE_OWNER_IDS } from './owners';
/** The CRM object types the sandbox emulates, by their v3 path name: three records and four activities. */
export type HubSpotObjectType = 'contacts' | 'companies' | 'deals' | 'tasks' | 'calls' | 'emails' | 'meetings';

export const OBJECT_TYPES: readonly HubSpotObjectType[] = ['contacts', 'companies', 'deals', 'tasks', 'calls', 'emails', 'meetings'];

export type PropertyKind = 'string' | 'number' | 'datetime' | 'enumeration';

export interface PropertyDefinition {
  kind: PropertyKind;
  readOnly?: boolean;
  /** Unique across live records of the type, so usable as `idProperty`. */
  unique?: boolean;
  /** An enumeration's option values: any other value is INVALID_OPTION. Absent = not checked (pipeline stages, currencies: external options). */
  options?: readonly string[];
  /** The property's label, as `GET /crm/v3/properties/{type}` shows it. */
  label?: string;
}

/**
 * Longest text a string property holds (UNCONFIRMED: HubSpot's knowledge base gives 65,536
 * characters for text properties; the properties API does not describe it, and the error for a
 * longer value is not documented).
 */
export const STRING_MAX_LENGTH = 65_536;

/** HubSpot's default lifecycle stages and lead statuses (internal values) [H45]. */
const LIFECYCLE_STAGES = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];
const LEAD_STATUSES = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'];

interface ObjectSchema {
  /** HubSpot's object type id, used by the v4 associations API and generic `object.*` webhooks. */
  typeId: string;
  /** Singular name used in webhook subscription types (`contact.creation`). */
  singular: string;
  /** Contacts keep `lastmodifieddate`; the others `hs_lastmodifieddate` [H11]. */
  modifiedProperty: string;
  /** What a GET/list/search returns when the caller names no properties. */
  defaultProperties: readonly string[];
  /** Whether classic `{singular}.*` webhook subscriptions exist; activities only have generic `object.*`. */
  classicWebhooks: boolean;
  properties: Record<string, PropertyDefinition>;
  /**
   * Properties a create must carry (vendor-facts H58): without them HubSpot answers 400
   * VALIDATION_ERROR "Error creating CALL. Some required properties were not set." naming them in
   * `context.properties`. Tasks are not checked here (UNCONFIRMED divergence kept for the
   * records created before this check existed, BEHAVIOR.md).
   */
  required?: readonly string[];
  /** Required properties HubSpot fills from another when missing: a meeting's `hs_timestamp` from its start (H60). */
  fallbacks?: Readonly<Record<string, string>>;
}

/** The send states of a logged email (H59). */
const EMAIL_STATUSES = ['BOUNCED', 'FAILED', 'SCHEDULED', 'SENDING', 'SENT'];
/** Call states (H57: the first four named on the calls page; the rest UNCONFIRMED, from public integration code). */
const CALL_STATUSES = ['BUSY', 'CALLING_CRM_USER', 'CANCELED', 'COMPLETED', 'CONNECTING', 'FAILED', 'IN_PROGRESS', 'MISSED', 'NO_ANSWER', 'QUEUED', 'RINGING'];
/** Meeting outcomes' internal values (H60: labels on the meetings page; the values as public integrations write them). */
const MEETING_OUTCOMES = ['SCHEDULED', 'COMPLETED', 'RESCHEDULED', 'NO_SHOW', 'CANCELED'];

const system = (modifiedProperty: string): Record<string, PropertyDefinition> => ({
  hs_object_id: { kind: 'number', readOnly: true },
  createdate: { kind: 'datetime', readOnly: true },
  [modifiedProperty]: { kind: 'datetime', readOnly: true },
  crm_sync_id: { kind: 'string', unique: true },
  // Every CRM object and engagement has an owner; records created through the API have none unless given [H82].
  hubspot_owner_id: { kind: 'enumeration', label: 'Owner', options: ACTIVE_OWNER_IDS },
});

export const SCHEMAS: Record<HubSpotObjectType, ObjectSchema> = {
  contacts: {
    typeId: '0-1',
    singular: 'contact',
    modifiedProperty: 'lastmodifieddate',
    defaultProperties: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
    classicWebhooks: true,
    properties: {
      ...system('lastmodifieddate'),
      email: { kind: 'string', unique: true },
      firstname: { kind: 'string' },
      lastname: { kind: 'string' },
      phone: { kind: 'string' },
      mobilephone: { kind: 'string' },
      jobtitle: { kind: 'string' },
      company: { kind: 'string' },
      website: { kind: 'string' },
      city: { kind: 'string' },
      country: { kind: 'string' },
      lifecyclestage: { kind: 'enumeration', label: 'Lifecycle Stage', options: LIFECYCLE_STAGES },
      hs_lead_status: { kind: 'enumeration', label: 'Lead Status', options: LEAD_STATUSES },
    },
  },
  companies: {
    typeId: '0-2',
    singular: 'company',
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
    classicWebhooks: true,
    properties: {
      ...system('hs_lastmodifieddate'),
      name: { kind: 'string' },
      domain: { kind: 'string' },
      industry: { kind: 'string' },
      website: { kind: 'string' },
      city: { kind: 'string' },
      country: { kind: 'string' },
      phone: { kind: 'string' },
      numberofemployees: { kind: 'number' },
      annualrevenue: { kind: 'number' },
    },
  },
  deals: {
    typeId: '0-3',
    singular: 'deal',
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
    classicWebhooks: true,
    properties: {
      ...system('hs_lastmodifieddate'),
      dealname: { kind: 'string' },
      amount: { kind: 'number' },
      deal_currency_code: { kind: 'enumeration' },
      dealstage: { kind: 'enumeration' },
      pipeline: { kind: 'enumeration' },
      closedate: { kind: 'datetime' },
    },
  },
  tasks: {
    typeId: '0-27',
    singular: 'task',
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    classicWebhooks: false,
    properties: {
      ...system('hs_lastmodifieddate'),
      hs_task_subject: { kind: 'string' },
      hs_task_body: { kind: 'string' },
      hs_task_status: { kind: 'enumeration', label: 'Task Status', options: ['NOT_STARTED', 'IN_PROGRESS', 'WAITING', 'COMPLETED', 'DEFERRED'] },
      hs_task_priority: { kind: 'enumeration', label: 'Priority', options: ['NONE', 'LOW', 'MEDIUM', 'HIGH'] },
      hs_task_type: { kind: 'enumeration', label: 'Task Type', options: ['CALL', 'EMAIL', 'LINKED_IN', 'MEETING', 'LINKED_IN_CONNECT', 'LINKED_IN_MESSAGE', 'TODO'] },
      hs_timestamp: { kind: 'datetime' },
    },
  },
  calls: {
    typeId: '0-48',
    singular: 'call',
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    classicWebhooks: false,
    required: ['hs_timestamp'],
    properties: {
      ...system('hs_lastmodifieddate'),
      hs_timestamp: { kind: 'datetime' },
      hs_call_title: { kind: 'string' },
      hs_call_body: { kind: 'string' },
      hs_call_status: { kind: 'enumeration', label: 'Call status', options: CALL_STATUSES },
      hs_call_direction: { kind: 'enumeration', label: 'Call direction', options: ['INBOUND', 'OUTBOUND'] },
      hs_call_duration: { kind: 'number' },
    },
  },
  emails: {
    typeId: '0-49',
    singular: 'email',
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    classicWebhooks: false,
    required: ['hs_timestamp'],
    properties: {
      ...system('hs_lastmodifieddate'),
      hs_timestamp: { kind: 'datetime' },
      hs_email_subject: { kind: 'string' },
      hs_email_text: { kind: 'string' },
      hs_email_html: { kind: 'string' },
      hs_email_status: { kind: 'enumeration', label: 'Email send status', options: EMAIL_STATUSES },
      hs_email_direction: { kind: 'enumeration', label: 'Email direction', options: ['EMAIL', 'INCOMING_EMAIL', 'FORWARDED_EMAIL'] },
    },
  },
  meetings: {
    typeId: '0-47',
    singular: 'meeting',
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    classicWebhooks: false,
    required: ['hs_timestamp'],
    fallbacks: { hs_timestamp: 'hs_meeting_start_time' },
    properties: {
      ...system('hs_lastmodifieddate'),
      hs_timestamp: { kind: 'datetime' },
      hs_meeting_title: { kind: 'string' },
      hs_meeting_body: { kind: 'string' },
      hs_meeting_start_time: { kind: 'datetime' },
      hs_meeting_end_time: { kind: 'datetime' },
      hs_meeting_outcome: { kind: 'enumeration', label: 'Meeting outcome', options: MEETING_OUTCOMES },
      hs_meeting_location: { kind: 'string' },
    },
  },
};

const ALIASES = new Map<string, HubSpotObjectType>();
for (const type of OBJECT_TYPES) {
  const schema = SCHEMAS[type];
  for (const alias of [type, schema.singular, schema.typeId]) ALIASES.set(alias, type);
}

/** Paths name a type by plural, singular or type id (`contacts`, `contact`, `0-1`), as HubSpot accepts. */
export function resolveObjectType(segment: string): HubSpotObjectType | undefined {
  return ALIASES.get(segment.toLowerCase());
}

/** Properties the sandbox always returns, whatever the caller asked for (as HubSpot does). */
export function alwaysReturned(type: HubSpotObjectType): readonly string[] {
  return ['createdate', SCHEMAS[type].modifiedProperty, 'hs_object_id'];
}
