import type { ConnectorMappingSpec, ObjectMappingSpec } from '../../model/mapping';

/**
 * Dataverse columns per canonical object. Choice (option set) columns are integers on the wire;
 * the maps below key them by their value as text and record-mapper turns them back into numbers
 * on write. Tenants add or replace entries with a mapping override.
 */
export const dynamicsDefaultMapping: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    contact: {
      nativeObject: 'contacts',
      fields: [
        { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
        { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
        { canonical: 'firstName', native: 'firstname', type: 'string' },
        { canonical: 'lastName', native: 'lastname', type: 'string' },
        { canonical: 'email', native: 'emailaddress1', type: 'string' },
        { canonical: 'phone', native: 'telephone1', type: 'string' },
        { canonical: 'mobilePhone', native: 'mobilephone', type: 'string' },
        { canonical: 'title', native: 'jobtitle', type: 'string' },
        { canonical: 'city', native: 'address1_city', type: 'string' },
        { canonical: 'country', native: 'address1_country', type: 'string' },
      ],
    },
    company: {
      nativeObject: 'accounts',
      fields: [
        { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
        { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
        { canonical: 'name', native: 'name', type: 'string' },
        { canonical: 'website', native: 'websiteurl', type: 'string' },
        { canonical: 'phone', native: 'telephone1', type: 'string' },
        { canonical: 'city', native: 'address1_city', type: 'string' },
        { canonical: 'country', native: 'address1_country', type: 'string' },
        { canonical: 'employeeCount', native: 'numberofemployees', type: 'integer' },
        { canonical: 'annualRevenue', native: 'revenue', type: 'number' },
      ],
    },
    deal: {
      nativeObject: 'opportunities',
      fields: [
        { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
        { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
        { canonical: 'name', native: 'name', type: 'string' },
        { canonical: 'amount', native: 'estimatedvalue', type: 'number' },
        { canonical: 'closeDate', native: 'estimatedclosedate', type: 'date' },
        { canonical: 'probability', native: 'closeprobability', type: 'number' },
        {
          // The built-in `salesstage` has four values (Qualify, Develop, Propose, Close) and keeps
          // won/lost in statecode, so the crm-sync solution adds a six-value choice column.
          canonical: 'stage',
          native: 'crm_dealstage',
          type: 'picklist',
          values: {
            '100000000': 'prospecting',
            '100000001': 'qualification',
            '100000002': 'proposal',
            '100000003': 'negotiation',
            '100000004': 'closed-won',
            '100000005': 'closed-lost',
          },
        },
      ],
    },
    activity: {
      nativeObject: 'tasks',
      fields: [
        { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
        { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
        { canonical: 'subject', native: 'subject', type: 'string' },
        { canonical: 'description', native: 'description', type: 'string' },
        { canonical: 'dueAt', native: 'scheduledend', type: 'datetime' },
        // Task statecode: 0 Open, 1 Completed (2 Canceled has no canonical value; see BEHAVIOR.md).
        { canonical: 'status', native: 'statecode', type: 'picklist', values: { '0': 'open', '1': 'completed' } },
        { canonical: 'priority', native: 'prioritycode', type: 'picklist', values: { '0': 'low', '1': 'normal', '2': 'high' } },
      ],
    },
  },
};

const priority = { canonical: 'priority', native: 'prioritycode', type: 'picklist', values: { '0': 'low', '1': 'normal', '2': 'high' } } as const;
// statecode 0 Open, 1 Completed on every activity table (2 Canceled has no canonical value) [D39].
const status = { canonical: 'status', native: 'statecode', type: 'picklist', values: { '0': 'open', '1': 'completed' } } as const;

/**
 * The other activity tables, keyed by logical name (task is `objects.activity` above, which a
 * tenant's override edits). Due is `scheduledend` ("Due Date") on phone calls and emails; a
 * meeting is due when it starts, `scheduledstart` [D40][D44][D45].
 */
export const dynamicsActivityTableMappings: Readonly<Record<string, ObjectMappingSpec>> = {
  phonecall: {
    nativeObject: 'phonecalls',
    fields: [
      { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
      { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
      { canonical: 'subject', native: 'subject', type: 'string' },
      { canonical: 'description', native: 'description', type: 'string' },
      { canonical: 'dueAt', native: 'scheduledend', type: 'datetime' },
      status,
      priority,
    ],
  },
  email: {
    nativeObject: 'emails',
    fields: [
      { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
      { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
      { canonical: 'subject', native: 'subject', type: 'string' },
      { canonical: 'description', native: 'description', type: 'string' },
      { canonical: 'dueAt', native: 'scheduledend', type: 'datetime' },
      status,
      priority,
    ],
  },
  appointment: {
    nativeObject: 'appointments',
    fields: [
      { canonical: 'owner', native: '_ownerid_value', type: 'owner', direction: 'read' },
      { canonical: 'owner', native: 'ownerid@odata.bind', type: 'owner', direction: 'write', ownerFormat: 'systemuser-bind' },
      { canonical: 'subject', native: 'subject', type: 'string' },
      { canonical: 'description', native: 'description', type: 'string' },
      { canonical: 'dueAt', native: 'scheduledstart', type: 'datetime' },
      status,
      priority,
    ],
  },
};
