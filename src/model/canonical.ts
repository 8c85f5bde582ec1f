import { z } from 'zod';
import type { ObjectType } from './identifiers';

/**
 * The canonical records every connector maps to and from. Nothing outside a connector knows a
 * vendor's field names; everything else (merging, conflicts, snapshots) speaks these.
 *
 * Values are JSON-safe so they can be stored in snapshots and cross Temporal history as they are:
 * dates are `YYYY-MM-DD`, datetimes ISO-8601 UTC with milliseconds (`2026-11-20T10:00:00.000Z`),
 * money a plain number in the record's currency. `null` means "known to be empty"; an absent key
 * means "not mapped / not read", which matters for field deltas.
 */

export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');
export const isoDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'must be a UTC datetime as YYYY-MM-DDTHH:mm:ss.sssZ');

// Empty text is null: every CRM here stores an empty text field as "no value" (HubSpot cannot
// even tell them apart on the wire), so the canonical model has one spelling for it.
const text = z.string().min(1).nullable();
const number = z.number().finite().nullable();
/**
 * The owning user, by the email every vendor's users have, lower-cased: the one identity users
 * share across CRMs. Read only through a connection's owner map (model/mapping/owners.ts).
 */
const owner = z.email().refine((value) => value === value.toLowerCase(), 'must be lower-case').nullable();

export const dealStages = ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed-won', 'closed-lost'] as const;
export const activityStatuses = ['open', 'completed'] as const;
/**
 * What an activity is. Vendors keep kinds as separate objects (HubSpot calls, emails, meetings and
 * tasks; Dataverse phonecall, email, appointment and task; Salesforce Task and Event; Zoho Calls,
 * Events and Tasks) or as a type field (Pipedrive): the connector picks the object by kind on a
 * create and reads the kind from the object. A kind is fixed once created where it is the object.
 */
export const activityKinds = ['call', 'email', 'meeting', 'task'] as const;
export const activityPriorities = ['low', 'normal', 'high'] as const;

/** Tenant-specific fields (e.g. Salesforce `Company__c`) live under `custom`, keyed by canonical name. */
const customFields = z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), z.unknown());

export const contactFieldsSchema = z
  .object({
    firstName: text,
    lastName: text,
    email: z.email().nullable(),
    phone: text,
    mobilePhone: text,
    title: text,
    city: text,
    country: text,
    owner,
    custom: customFields,
  })
  .partial()
  .strict();

export const companyFieldsSchema = z
  .object({
    name: text,
    domain: text,
    website: text,
    industry: text,
    phone: text,
    city: text,
    country: text,
    employeeCount: z.number().int().nonnegative().nullable(),
    annualRevenue: number,
    owner,
    custom: customFields,
  })
  .partial()
  .strict();

export const dealFieldsSchema = z
  .object({
    name: text,
    amount: number,
    currency: z.string().regex(/^[A-Z]{3}$/).nullable(),
    stage: z.enum(dealStages).nullable(),
    closeDate: isoDate.nullable(),
    probability: z.number().min(0).max(100).nullable(),
    owner,
    custom: customFields,
  })
  .partial()
  .strict();

export const activityFieldsSchema = z
  .object({
    subject: text,
    description: text,
    dueAt: isoDateTime.nullable(),
    status: z.enum(activityStatuses).nullable(),
    priority: z.enum(activityPriorities).nullable(),
    kind: z.enum(activityKinds).nullable(),
    owner,
    custom: customFields,
  })
  .partial()
  .strict();

export type ContactFields = z.infer<typeof contactFieldsSchema>;
export type CompanyFields = z.infer<typeof companyFieldsSchema>;
export type DealFields = z.infer<typeof dealFieldsSchema>;
export type ActivityFields = z.infer<typeof activityFieldsSchema>;

export const canonicalFieldSchemas = {
  contact: contactFieldsSchema,
  company: companyFieldsSchema,
  deal: dealFieldsSchema,
  activity: activityFieldsSchema,
} as const satisfies Record<ObjectType, z.ZodType>;

export interface CanonicalFieldsByType {
  contact: ContactFields;
  company: CompanyFields;
  deal: DealFields;
  activity: ActivityFields;
}

/** A canonical record's fields, whatever its type: what generic code (deltas, snapshots) handles. */
export type CanonicalFields = Record<string, unknown> & { custom?: Record<string, unknown> };

/**
 * Associations, as the names of reference slots per object type. A slot holds the related
 * record's id in whichever id space the holder speaks: a connector reads and writes the CRM's
 * own ids; the sync engine translates them through record links.
 *
 * A connector reports each slot it read (absent = not read, never "none"); a `many` slot is the
 * whole set of linked records, in any order. On a write, a slot present is made to hold exactly
 * what it names (links added and removed; `null` clears a single slot), a slot absent is left
 * alone. A deal's `primaryContact` is one of its `contacts` where the vendor marks one (Salesforce
 * `OpportunityContactRole.IsPrimary`, Pipedrive's and Zoho's deal person, Dataverse
 * `parentcontactid`).
 */
export const referenceSlots = {
  contact: { company: { to: 'company', many: false } },
  company: {},
  deal: { company: { to: 'company', many: false }, contacts: { to: 'contact', many: true }, primaryContact: { to: 'contact', many: false } },
  activity: {
    contacts: { to: 'contact', many: true },
    company: { to: 'company', many: false },
    deal: { to: 'deal', many: false },
  },
} as const satisfies Record<ObjectType, Record<string, { to: ObjectType; many: boolean }>>;

export type ReferenceSlot<T extends ObjectType> = keyof (typeof referenceSlots)[T] & string;

/** Related records by slot: one id (or null: known to have none), or a list for `many` slots. */
export type References = Record<string, string | null | string[]>;

/**
 * What each canonical field can be mapped from, and the values an enumerated field accepts:
 * mapping validation uses this to refuse, at load, a map that could only fail at sync time.
 */
export interface CanonicalFieldKind {
  types: readonly ('string' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime' | 'picklist' | 'multiselect' | 'owner')[];
  values?: readonly string[];
}

const textKind: CanonicalFieldKind = { types: ['string', 'picklist'] };
const numberKind: CanonicalFieldKind = { types: ['number', 'integer'] };
const ownerKind: CanonicalFieldKind = { types: ['owner'] };

export const canonicalFieldKinds: Record<ObjectType, Record<string, CanonicalFieldKind>> = {
  contact: { firstName: textKind, lastName: textKind, email: { types: ['string'] }, phone: textKind, mobilePhone: textKind, title: textKind, city: textKind, country: textKind, owner: ownerKind },
  company: {
    name: textKind,
    domain: { types: ['string'] },
    website: { types: ['string'] },
    industry: textKind,
    phone: textKind,
    city: textKind,
    country: textKind,
    employeeCount: { types: ['integer'] },
    annualRevenue: numberKind,
    owner: ownerKind,
  },
  deal: {
    name: textKind,
    amount: numberKind,
    currency: textKind,
    stage: { types: ['picklist'], values: dealStages },
    closeDate: { types: ['date'] },
    probability: numberKind,
    owner: ownerKind,
  },
  activity: {
    subject: textKind,
    description: textKind,
    dueAt: { types: ['datetime'] },
    status: { types: ['picklist'], values: activityStatuses },
    priority: { types: ['picklist'], values: activityPriorities },
    kind: { types: ['picklist'], values: activityKinds },
    owner: ownerKind,
  },
};
