import { z } from 'zod';
import { violationPolicies } from '../field-constraints';
import { objectTypes } from '../identifiers';

/**
 * Field mappings as data: each CRM ships defaults and each tenant may override them (custom
 * fields, picklist values, time zones). Specs are plain JSON, validated here; `compileMapping`
 * then checks what a schema cannot (known canonical fields, invertible picklists, duplicates).
 */

/**
 * `owner`: the vendor's user id of a record's owner, read and written through the connection's
 * owner map (`owners` in the override; model/mapping/owners.ts). Without that map no owner field
 * is read or written at all.
 */
export const fieldTypes = ['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'picklist', 'multiselect', 'owner'] as const;
export type FieldType = (typeof fieldTypes)[number];
export const ownerFormats = ['id', 'number', 'object', 'systemuser-bind'] as const;
export type OwnerFormat = (typeof ownerFormats)[number];

/**
 * A connection's owner map: the vendor's user id -> that user's email. Emails are lower-cased
 * here, so `Alice@Example.com` and `alice@example.com` are one owner.
 */
export const ownerMapSchema = z.record(
  z.string().min(1, 'must be a vendor user id'),
  z.email('must be the user\'s email').transform((email) => email.toLowerCase()),
);
export type OwnerMap = z.output<typeof ownerMapSchema>;

export const fieldMappingSchema = z
  .object({
    /** Canonical field, e.g. `email`, or `custom.<name>` for a tenant-specific field. */
    canonical: z.string().regex(/^(custom\.)?[a-zA-Z][a-zA-Z0-9_]*$/, 'must be a field name or custom.<name>'),
    /** The vendor's field name, e.g. `Email`, `emailaddress1`, `Company__c`. */
    native: z.string().min(1, 'must name the vendor field'),
    type: z.enum(fieldTypes),
    /** `read`: only CRM -> canonical (e.g. a formula field); `write`: only canonical -> CRM. */
    direction: z.enum(['both', 'read', 'write']).default('both'),
    /** Picklist and multi-select: vendor value -> canonical value. Must be one-to-one for writes. */
    values: z.record(z.string(), z.string()).optional(),
    /** Multi-select: how the vendor joins values (Salesforce and HubSpot use `;`). */
    separator: z.string().min(1).default(';'),
    /**
     * How the vendor renders a date or datetime: `date` (YYYY-MM-DD), `datetime` (ISO-8601), or
     * `epoch-ms`. A canonical date stored in a vendor datetime is midnight in `timeZone`.
     */
    format: z.enum(['date', 'datetime', 'epoch-ms']).optional(),
    /** IANA zone whose calendar decides a date held in a vendor datetime (default UTC). */
    timeZone: z.string().min(1).optional(),
    /**
     * A written value the target's schema cannot hold (longer than the field, outside a
     * restricted picklist): `park` the record (default), `truncate` text to the field's length,
     * or `skip` the field in that write. Never silent: the record's outcome says what was done.
     */
    onViolation: z.enum(violationPolicies).optional(),
    /**
     * Owner fields: how the vendor takes a user id on a write. `id` as text (Salesforce, HubSpot),
     * `number` (Pipedrive), `object` as `{ id }` (Zoho), `systemuser-bind` as
     * `/systemusers(<id>)` for an `@odata.bind` field (Dataverse). Reads take any of them.
     */
    ownerFormat: z.enum(ownerFormats).optional(),
  })
  .strict();

export const objectMappingSchema = z
  .object({
    /** The vendor's object, e.g. `Contact`, `contacts`. */
    nativeObject: z.string().min(1),
    fields: z.array(fieldMappingSchema),
    /** `report`: vendor fields nothing maps are listed on read (schema discovery); `ignore`: dropped. */
    unmapped: z.enum(['ignore', 'report']).default('ignore'),
  })
  .strict();

export const connectorMappingSchema = z
  .object({
    /**
     * `json`: numbers and booleans travel as JSON types (Salesforce, Dynamics). `strings`: every
     * property is a string on the wire (HubSpot).
     */
    valueEncoding: z.enum(['json', 'strings']).default('json'),
    objects: z.partialRecord(z.enum(objectTypes), objectMappingSchema),
  })
  .strict();

/** A tenant's changes to a connector's defaults. */
export const mappingOverrideSchema = z
  .object({
    objects: z.partialRecord(
      z.enum(objectTypes),
      z
        .object({
          nativeObject: z.string().min(1).optional(),
          /** Added, or replacing the default with the same canonical field. */
          fields: z.array(fieldMappingSchema).default([]),
          /** Canonical fields to stop syncing. */
          remove: z.array(z.string()).default([]),
          unmapped: z.enum(['ignore', 'report']).optional(),
        })
        .strict(),
      )
      .default({}),
    /**
     * Owners, by the vendor's user id -> email, for the users whose records sync with an owner.
     * Absent: no owner is read or written (each vendor keeps its own owners). An id not named is
     * not read; an owner whose email no id names is not written (the vendor keeps its owner).
     */
    owners: ownerMapSchema.optional(),
  })
  .strict();

export type FieldMappingSpec = z.input<typeof fieldMappingSchema>;
export type FieldMapping = z.output<typeof fieldMappingSchema>;
export type ObjectMappingSpec = z.input<typeof objectMappingSchema>;
export type ConnectorMappingSpec = z.input<typeof connectorMappingSchema>;
export type ConnectorMapping = z.output<typeof connectorMappingSchema>;
export type MappingOverrideSpec = z.input<typeof mappingOverrideSchema>;
