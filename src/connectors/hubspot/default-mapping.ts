import type { ConnectorMappingSpec } from '../../model/mapping';

/**
 * HubSpot's default sales pipeline stages [H9]. `contractsent` also means negotiation, so reads
 * take both while writes pick `decisionmakerboughtin` (a picklist must be one-to-one to be written).
 */
const DEAL_STAGE_WRITES = {
  appointmentscheduled: 'prospecting',
  qualifiedtobuy: 'qualification',
  presentationscheduled: 'proposal',
  decisionmakerboughtin: 'negotiation',
  closedwon: 'closed-won',
  closedlost: 'closed-lost',
} as const;
const DEAL_STAGE_READS = { ...DEAL_STAGE_WRITES, contractsent: 'negotiation' } as const;

/** Task states: HubSpot has five, the canonical model two; only the two exact ones are written. */
const TASK_STATUS_WRITES = { NOT_STARTED: 'open', COMPLETED: 'completed' } as const;
const TASK_STATUS_READS = { ...TASK_STATUS_WRITES, IN_PROGRESS: 'open', WAITING: 'open', DEFERRED: 'open' } as const;

/**
 * HubSpot's side of the canonical model, as data. Every HubSpot property travels as a string
 * (`valueEncoding: 'strings'`): numbers, dates and enumerations alike, and "" means empty.
 * The sync id property and the last-modified stamps are the connector's business, not mapped here.
 */
export const hubspotDefaultMapping: ConnectorMappingSpec = {
  valueEncoding: 'strings',
  objects: {
    contact: {
      nativeObject: 'contacts',
      fields: [
        { canonical: 'owner', native: 'hubspot_owner_id', type: 'owner' },
        { canonical: 'firstName', native: 'firstname', type: 'string' },
        { canonical: 'lastName', native: 'lastname', type: 'string' },
        { canonical: 'email', native: 'email', type: 'string' },
        { canonical: 'phone', native: 'phone', type: 'string' },
        { canonical: 'mobilePhone', native: 'mobilephone', type: 'string' },
        { canonical: 'title', native: 'jobtitle', type: 'string' },
        { canonical: 'city', native: 'city', type: 'string' },
        { canonical: 'country', native: 'country', type: 'string' },
      ],
    },
    company: {
      nativeObject: 'companies',
      fields: [
        { canonical: 'owner', native: 'hubspot_owner_id', type: 'owner' },
        { canonical: 'name', native: 'name', type: 'string' },
        { canonical: 'domain', native: 'domain', type: 'string' },
        { canonical: 'website', native: 'website', type: 'string' },
        { canonical: 'industry', native: 'industry', type: 'string' },
        { canonical: 'phone', native: 'phone', type: 'string' },
        { canonical: 'city', native: 'city', type: 'string' },
        { canonical: 'country', native: 'country', type: 'string' },
        { canonical: 'employeeCount', native: 'numberofemployees', type: 'integer' },
        { canonical: 'annualRevenue', native: 'annualrevenue', type: 'number' },
      ],
    },
    deal: {
      nativeObject: 'deals',
      fields: [
        { canonical: 'owner', native: 'hubspot_owner_id', type: 'owner' },
        { canonical: 'name', native: 'dealname', type: 'string' },
        { canonical: 'amount', native: 'amount', type: 'number' },
        { canonical: 'currency', native: 'deal_currency_code', type: 'string' },
        { canonical: 'stage', native: 'dealstage', type: 'picklist', direction: 'read', values: DEAL_STAGE_READS },
        { canonical: 'stage', native: 'dealstage', type: 'picklist', direction: 'write', values: DEAL_STAGE_WRITES },
        // `closedate` is a datetime property holding a calendar date: HubSpot shows it at midnight UTC.
        { canonical: 'closeDate', native: 'closedate', type: 'date', format: 'datetime', timeZone: 'UTC' },
      ],
    },
    activity: {
      nativeObject: 'tasks',
      fields: [
        { canonical: 'owner', native: 'hubspot_owner_id', type: 'owner' },
        { canonical: 'subject', native: 'hs_task_subject', type: 'string' },
        { canonical: 'description', native: 'hs_task_body', type: 'string' },
        { canonical: 'dueAt', native: 'hs_timestamp', type: 'datetime', format: 'datetime' },
        { canonical: 'status', native: 'hs_task_status', type: 'picklist', direction: 'read', values: TASK_STATUS_READS },
        { canonical: 'status', native: 'hs_task_status', type: 'picklist', direction: 'write', values: TASK_STATUS_WRITES },
        { canonical: 'priority', native: 'hs_task_priority', type: 'picklist', values: { LOW: 'low', MEDIUM: 'normal', HIGH: 'high' } },
      ],
    },
  },
};
