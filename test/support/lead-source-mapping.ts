/**
 * A mapping pair that makes a target refuse records (validation): Salesforce's lead source picklist
 * maps "Phone Inquiry" to `phone`, and a HubSpot mapping that lacks `phone` in `values` refuses it.
 */
export const salesforceLeadSource = { objects: { contact: { fields: [{ canonical: 'custom.source', native: 'Lead_Source__c', type: 'picklist', values: { Web: 'web', 'Phone Inquiry': 'phone' } }] } } };

/** HubSpot's side: the values it accepts, canonical value -> its own. */
export const hubspotLeadSource = (values: Record<string, string>) => ({ objects: { contact: { fields: [{ canonical: 'custom.source', native: 'lead_source', type: 'picklist', values }] } } });
