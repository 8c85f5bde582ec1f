import type { ConnectorMappingSpec } from '../../model/mapping';

/**
 * Salesforce's standard stages, read into the canonical six. Writes use the one-to-one subset, so
 * a stage an org renamed or added is read (and reported when unknown) but never guessed on write.
 */
const stagesRead: Record<string, string> = {
  Prospecting: 'prospecting',
  Qualification: 'qualification',
  'Needs Analysis': 'qualification',
  'Value Proposition': 'qualification',
  'Id. Decision Makers': 'qualification',
  'Perception Analysis': 'proposal',
  'Proposal/Price Quote': 'proposal',
  'Negotiation/Review': 'negotiation',
  'Closed Won': 'closed-won',
  'Closed Lost': 'closed-lost',
};
const stagesWrite: Record<string, string> = {
  Prospecting: 'prospecting',
  Qualification: 'qualification',
  'Proposal/Price Quote': 'proposal',
  'Negotiation/Review': 'negotiation',
  'Closed Won': 'closed-won',
  'Closed Lost': 'closed-lost',
};

const taskStatusRead: Record<string, string> = {
  'Not Started': 'open',
  'In Progress': 'open',
  'Waiting on someone else': 'open',
  Deferred: 'open',
  Completed: 'completed',
};
const taskStatusWrite: Record<string, string> = { 'Not Started': 'open', Completed: 'completed' };

/** The default map from Salesforce's standard objects to the canonical model; tenants override it. */
export const salesforceDefaultMapping: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    contact: {
      nativeObject: 'Contact',
      fields: [
        { canonical: 'owner', native: 'OwnerId', type: 'owner' },
        { canonical: 'firstName', native: 'FirstName', type: 'string' },
        { canonical: 'lastName', native: 'LastName', type: 'string' },
        { canonical: 'email', native: 'Email', type: 'string' },
        { canonical: 'phone', native: 'Phone', type: 'string' },
        { canonical: 'mobilePhone', native: 'MobilePhone', type: 'string' },
        { canonical: 'title', native: 'Title', type: 'string' },
        { canonical: 'city', native: 'MailingCity', type: 'string' },
        { canonical: 'country', native: 'MailingCountry', type: 'string' },
      ],
    },
    company: {
      nativeObject: 'Account',
      fields: [
        { canonical: 'owner', native: 'OwnerId', type: 'owner' },
        { canonical: 'name', native: 'Name', type: 'string' },
        { canonical: 'website', native: 'Website', type: 'string' },
        { canonical: 'industry', native: 'Industry', type: 'string' },
        { canonical: 'phone', native: 'Phone', type: 'string' },
        { canonical: 'city', native: 'BillingCity', type: 'string' },
        { canonical: 'country', native: 'BillingCountry', type: 'string' },
        { canonical: 'employeeCount', native: 'NumberOfEmployees', type: 'integer' },
        { canonical: 'annualRevenue', native: 'AnnualRevenue', type: 'number' },
      ],
    },
    deal: {
      nativeObject: 'Opportunity',
      fields: [
        { canonical: 'owner', native: 'OwnerId', type: 'owner' },
        { canonical: 'name', native: 'Name', type: 'string' },
        { canonical: 'amount', native: 'Amount', type: 'number' },
        { canonical: 'stage', native: 'StageName', type: 'picklist', direction: 'read', values: stagesRead },
        { canonical: 'stage', native: 'StageName', type: 'picklist', direction: 'write', values: stagesWrite },
        { canonical: 'closeDate', native: 'CloseDate', type: 'date', format: 'date' },
        { canonical: 'probability', native: 'Probability', type: 'number' },
      ],
    },
    activity: {
      nativeObject: 'Task',
      fields: [
        { canonical: 'owner', native: 'OwnerId', type: 'owner' },
        { canonical: 'subject', native: 'Subject', type: 'string' },
        { canonical: 'description', native: 'Description', type: 'string' },
        // ActivityDate is a date; the canonical dueAt is a datetime, so it is read (midnight UTC)
        // but not written: writing would drop the time of day the other CRM holds.
        { canonical: 'dueAt', native: 'ActivityDate', type: 'datetime', direction: 'read' },
        { canonical: 'status', native: 'Status', type: 'picklist', direction: 'read', values: taskStatusRead },
        { canonical: 'status', native: 'Status', type: 'picklist', direction: 'write', values: taskStatusWrite },
        { canonical: 'priority', native: 'Priority', type: 'picklist', values: { High: 'high', Normal: 'normal', Low: 'low' } },
      ],
    },
  },
};
