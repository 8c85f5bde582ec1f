export { startSalesforceSandbox } from './server';
export type { SalesforceSandbox, SalesforceSandboxOptions, SalesforceCredentials } from './options';
export type { SalesforceAdmin, SalesforceStats, RecordView } from './admin';
export type { SeedCounts } from './seed';
export type { SObjectType } from './schema';
export { SOBJECT_TYPES } from './schema';
export type { FieldValue } from './records';
export type { SalesforceWebhookEvent, SalesforceWebhookPayload } from './webhooks';
export { signWebhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhooks';
