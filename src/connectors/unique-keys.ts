import type { CanonicalFields } from '../model/canonical';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import { objectMapping, type CompiledMapping } from '../model/mapping';
import type { ExternalRecord } from './connector';
import { ConnectorError } from './errors';

/**
 * First-sync matching keys, shared by the three connectors and the engine: which canonical field
 * a key is, how its values compare (case-insensitively, trimmed; domains as bare host names), and
 * which vendor field holds it.
 */

/** A canonical field (`email`, `domain`, `custom.<name>`) and the values to look for. */
export interface UniqueKeyQuery {
  field: string;
  values: readonly string[];
}

/**
 * A key value as it compares: trimmed and lower-cased (emails and domains are case-insensitive at
 * every vendor); a domain is reduced to its host (`https://www.Acme.com/about` -> `acme.com`), so
 * a CRM that only keeps a website still matches one that keeps the domain. Empty -> undefined.
 */
export function normalizeKeyValue(field: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let text = value.trim().toLowerCase();
  if (field === 'domain' || field === 'website') {
    text = text
      .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
      .replace(/[/?#].*$/, '')
      .replace(/:\d+$/, '')
      .replace(/^www\./, '')
      .replace(/\.$/, '');
  }
  return text === '' ? undefined : text;
}

/** The record's value for a key, normalized; `domain` falls back to the website's host. */
export function keyValueOf(field: string, fields: Readonly<CanonicalFields>): string | undefined {
  const direct = normalizeKeyValue(field, readPath(fields, field));
  if (direct !== undefined || field !== 'domain') return direct;
  return normalizeKeyValue('domain', fields.website);
}

/**
 * The vendor field a key is read from: the field mapped to it, or for `domain` where the CRM keeps
 * only a website (Salesforce Account.Website, Dataverse account.websiteurl) that field, matched by
 * host. A key the mapping does not cover is a configuration error (validation), not "no match".
 */
export function nativeKeyField(provider: CrmProvider, mapping: CompiledMapping, objectType: ObjectType, field: string): { native: string; via: 'value' | 'website' } {
  const reads = objectMapping(mapping, objectType).reads;
  const direct = reads.find((entry) => entry.canonical === field);
  if (direct) return { native: direct.native, via: 'value' };
  const website = field === 'domain' ? reads.find((entry) => entry.canonical === 'website') : undefined;
  if (website) return { native: website.native, via: 'website' };
  throw new ConnectorError({ provider, errorClass: 'validation', message: `match key "${field}" is not mapped for ${objectType} in this ${provider} connection` });
}

/** The wanted values, normalized and deduplicated (empty ones dropped). */
export function wantedValues(query: UniqueKeyQuery): string[] {
  return [...new Set(query.values.map((value) => normalizeKeyValue(query.field, value)).filter((value): value is string => value !== undefined))];
}

/** Keeps the records whose key value is one of `wanted` (the vendors' own match may be looser, e.g. LIKE). */
export function keepMatching(records: readonly ExternalRecord[], field: string, wanted: ReadonlySet<string>): ExternalRecord[] {
  const seen = new Set<string>();
  return records.filter((record) => {
    const value = keyValueOf(field, record.fields);
    if (value === undefined || !wanted.has(value) || seen.has(record.externalId)) return false;
    seen.add(record.externalId);
    return true;
  });
}

export function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

function readPath(fields: Readonly<CanonicalFields>, path: string): unknown {
  if (!path.startsWith('custom.')) return fields[path];
  return fields.custom?.[path.slice('custom.'.length)];
}
