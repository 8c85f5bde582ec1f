import type { ConnectorMappingSpec } from '../../model/mapping';

/**
 * Zoho CRM field API names per canonical object. Values are JSON types (numbers stay numbers);
 * picklists hold display values. Lookups (Account_Name, Contact_Name, What_Id, Who_Id) are
 * references, not fields (spec.ts). Task `Due_Date` is a date while canonical `dueAt` is a
 * datetime, so it is left unmapped by default (BEHAVIOR.md).
 */
export const zohoDefaultMapping: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    contact: {
      nativeObject: 'Contacts',
      fields: [
        // The record's owner, `{name, id, email}`, read and written through the connection's owner map [Z51].
        { canonical: 'owner', native: 'Owner', type: 'owner', ownerFormat: 'object' },
        { canonical: 'firstName', native: 'First_Name', type: 'string' },
        { canonical: 'lastName', native: 'Last_Name', type: 'string' },
        { canonical: 'email', native: 'Email', type: 'string' },
        { canonical: 'phone', native: 'Phone', type: 'string' },
        { canonical: 'mobilePhone', native: 'Mobile', type: 'string' },
        { canonical: 'title', native: 'Title', type: 'string' },
        { canonical: 'city', native: 'Mailing_City', type: 'string' },
        { canonical: 'country', native: 'Mailing_Country', type: 'string' },
      ],
    },
    company: {
      nativeObject: 'Accounts',
      fields: [
        // The record's owner, `{name, id, email}`, read and written through the connection's owner map [Z51].
        { canonical: 'owner', native: 'Owner', type: 'owner', ownerFormat: 'object' },
        { canonical: 'name', native: 'Account_Name', type: 'string' },
        { canonical: 'website', native: 'Website', type: 'string' },
        { canonical: 'phone', native: 'Phone', type: 'string' },
        { canonical: 'industry', native: 'Industry', type: 'string' },
        { canonical: 'city', native: 'Billing_City', type: 'string' },
        { canonical: 'country', native: 'Billing_Country', type: 'string' },
        { canonical: 'employeeCount', native: 'Employees', type: 'integer' },
        { canonical: 'annualRevenue', native: 'Annual_Revenue', type: 'number' },
      ],
    },
    deal: {
      nativeObject: 'Deals',
      fields: [
        // The record's owner, `{name, id, email}`, read and written through the connection's owner map [Z51].
        { canonical: 'owner', native: 'Owner', type: 'owner', ownerFormat: 'object' },
        { canonical: 'name', native: 'Deal_Name', type: 'string' },
        { canonical: 'amount', native: 'Amount', type: 'number' },
        { canonical: 'closeDate', native: 'Closing_Date', type: 'date' },
        { canonical: 'probability', native: 'Probability', type: 'number' },
        {
          // Zoho's default pipeline stages.
          canonical: 'stage',
          native: 'Stage',
          type: 'picklist',
          values: {
            Qualification: 'prospecting',
            'Needs Analysis': 'qualification',
            'Proposal/Price Quote': 'proposal',
            'Negotiation/Review': 'negotiation',
            'Closed Won': 'closed-won',
            'Closed Lost': 'closed-lost',
          },
        },
      ],
    },
    activity: {
      nativeObject: 'Tasks',
      fields: [
        // The record's owner, `{name, id, email}`, read and written through the connection's owner map [Z51].
        { canonical: 'owner', native: 'Owner', type: 'owner', ownerFormat: 'object' },
        { canonical: 'subject', native: 'Subject', type: 'string' },
        { canonical: 'description', native: 'Description', type: 'string' },
        { canonical: 'status', native: 'Status', type: 'picklist', values: { 'Not Started': 'open', Completed: 'completed' } },
        { canonical: 'priority', native: 'Priority', type: 'picklist', values: { Low: 'low', Normal: 'normal', High: 'high' } },
      ],
    },
  },
};
