import { dynamicsDefaultMapping } from '../../../src/connectors/dynamics/default-mapping';
import { hubspotDefaultMapping } from '../../../src/connectors/hubspot/default-mapping';
import { pipedriveDefaultMapping } from '../../../src/connectors/pipedrive/default-mapping';
import { salesforceDefaultMapping } from '../../../src/connectors/salesforce/default-mapping';
import { zohoDefaultMapping } from '../../../src/connectors/zoho/default-mapping';
import type { ConnectorMappingSpec } from '../../../src/model/mapping';

/**
 * The vocabulary of the convergence test: which CRMs, which contact fields (by their canonical
 * names), what a vendor's modstamp means, and the `latest` rule the product promises.
 */
export const CRM_NAMES = ['salesforce', 'hubspot', 'dynamics', 'pipedrive', 'zoho'] as const;
export type CrmName = (typeof CRM_NAMES)[number];

/** Contact fields a person can see and edit in every CRM's UI (canonical names). */
export const ALL_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'mobilePhone', 'title', 'city', 'country'] as const;
export type Field = (typeof ALL_FIELDS)[number];

/** Field values as a person sees them; '' is empty (no value). */
export type Values = Partial<Record<Field, string>>;

/**
 * A vendor's record modstamp as the vendor reports it. It stands for the interval
 * [ms, ms + precisionMs): a whole-second stamp (Dataverse `modifiedon`, Pipedrive `update_time`,
 * Zoho `Modified_Time`) says only that the write happened somewhere in that second.
 */
export interface Stamp {
  text: string;
  ms: number;
  precisionMs: number;
}

const DEFAULT_MAPPINGS: Record<CrmName, ConnectorMappingSpec> = {
  salesforce: salesforceDefaultMapping,
  hubspot: hubspotDefaultMapping,
  dynamics: dynamicsDefaultMapping,
  pipedrive: pipedriveDefaultMapping,
  zoho: zohoDefaultMapping,
};

const mapped = new Map<CrmName, Field[]>();

/** The canonical contact fields a CRM's default mapping carries. */
export function mappedFields(crm: CrmName): Field[] {
  let fields = mapped.get(crm);
  if (!fields) {
    const canonical = new Set((DEFAULT_MAPPINGS[crm].objects.contact?.fields ?? []).map((field) => field.canonical));
    fields = ALL_FIELDS.filter((field) => canonical.has(field));
    mapped.set(crm, fields);
  }
  return [...fields];
}

/** The fields compared: those every CRM of the set carries in its default contact mapping. */
export function comparedFields(crms: readonly CrmName[]): Field[] {
  return ALL_FIELDS.filter((field) => crms.every((crm) => mappedFields(crm).includes(field)));
}

/**
 * Parses a vendor timestamp and takes its precision from how it is written: fractional seconds
 * with n digits mean 10^(3-n) ms (milliseconds: 1 ms), none means whole seconds (1,000 ms).
 * Accepts `Z`, `+0000` (Salesforce) and `+05:30` (Zoho) offsets.
 */
export function parseStamp(text: string): Stamp {
  const normalised = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalised);
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${text}`);
  const fraction = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(text)?.[1];
  const precisionMs = fraction === undefined ? 1000 : Math.max(1, 10 ** (3 - Math.min(3, fraction.length)));
  return { text, ms, precisionMs };
}

export interface Candidate {
  crm: CrmName;
  value: string;
  stamp: Stamp;
}

/**
 * The `latest` rule with honest clocks: a candidate loses when another's interval lies entirely
 * after its own (other.start >= own.end); among those left (mutually overlapping: nobody can tell
 * which came first) the policy's priority list decides, first wins.
 */
export function latestWinner(candidates: readonly Candidate[], priority: readonly CrmName[]): { winner: Candidate; tie: boolean } {
  if (candidates.length === 0) throw new Error('latestWinner needs candidates');
  const undominated = candidates.filter((candidate) => !candidates.some((other) => other !== candidate && other.stamp.ms >= candidate.stamp.ms + candidate.stamp.precisionMs));
  if (undominated.length === 1) return { winner: undominated[0] as Candidate, tie: false };
  const rank = (crm: CrmName): number => {
    const index = priority.indexOf(crm);
    return index === -1 ? Number.MAX_SAFE_INTEGER : index;
  };
  const winner = [...undominated].sort((a, b) => rank(a.crm) - rank(b.crm))[0] as Candidate;
  return { winner, tie: true };
}

/** How values compare: trimmed, emails case-insensitively, null/undefined as empty. */
export function normalise(field: Field, value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).trim();
  return field === 'email' ? text.toLowerCase() : text;
}
