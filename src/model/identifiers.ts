import { z } from 'zod';

/** The CRMs crm-sync speaks to. */
export const crmProviders = ['salesforce', 'hubspot', 'dynamics', 'pipedrive', 'zoho'] as const;
export type CrmProvider = (typeof crmProviders)[number];
export const crmProviderSchema = z.enum(crmProviders);

/** The canonical object types every connector maps to and from. */
export const objectTypes = ['contact', 'company', 'deal', 'activity'] as const;
export type ObjectType = (typeof objectTypes)[number];
export const objectTypeSchema = z.enum(objectTypes);

/**
 * Tenant and connection ids appear in workflow ids (`sync:<tenant>:<connection>`), webhook URLs
 * and CLI arguments, so they are slugs. The database enforces the same pattern.
 */
export const slugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit');

/** A canonical sync id: what the engine writes into each CRM's external-id field. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
