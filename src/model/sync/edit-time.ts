import type { CanonicalFields } from '../canonical';
import type { CrmProvider } from '../identifiers';
import { flattenFields, isEmptyValue, sameValue } from './values';

/**
 * How finely each vendor's record modstamp tells time. A stamp of precision p stands for the
 * interval [stamp, stamp + p): Dataverse `modifiedon`, Pipedrive `update_time`, Zoho
 * `Modified_Time` and Salesforce `SystemModstamp` are rendered to the second (Salesforce always
 * `.000`), HubSpot's `hs_lastmodifieddate` to the millisecond.
 */
export const clockPrecisionMs: Readonly<Record<CrmProvider, number>> = {
  salesforce: 1000,
  hubspot: 1,
  dynamics: 1000,
  pipedrive: 1000,
  zoho: 1000,
};

/**
 * The precision of one stamp: the vendor's, unless the stamp itself shows finer digits (a stamp
 * with milliseconds other than .000 cannot be a whole-second one; an emulator or an API version
 * may report finer than the vendor's documented clock).
 */
export function stampPrecisionMs(provider: CrmProvider, at: string | null): number {
  const precision = clockPrecisionMs[provider];
  if (precision === 1 || at === null) return precision;
  const millis = Date.parse(at) % 1000;
  return Number.isNaN(millis) || millis === 0 ? precision : 1;
}

/** When a connection's record changed, as that vendor's clock tells it. */
export interface EditTime {
  connectionId: string;
  /** ISO modstamp; null when unknown (then it loses to any known time). */
  at: string | null;
  precisionMs: number;
}

/**
 * Which of two edits is later: 1 when `a` is, -1 when `b` is, 0 when their intervals overlap and
 * the clocks cannot tell (a whole-second Dataverse stamp against a millisecond HubSpot one inside
 * that second). Never decided by which edit arrived first.
 */
export function compareEditTimes(a: EditTime, b: EditTime): -1 | 0 | 1 {
  const aStart = a.at === null ? Number.NEGATIVE_INFINITY : Date.parse(a.at);
  const bStart = b.at === null ? Number.NEGATIVE_INFINITY : Date.parse(b.at);
  if (aStart === bStart) return 0;
  if (aStart >= bStart + b.precisionMs) return 1;
  if (bStart >= aStart + a.precisionMs) return -1;
  return 0;
}

/**
 * The fields of a read that changed since the copy we last held although the record carries that
 * copy's stamp: our write's stamp (someone edited another field between our read and our write,
 * and our write stamped the record), or an earlier read's in the same whole second. The record
 * stamp cannot tell when they changed; a vendor's field history can.
 */
export function changedUnderHeldStamp(read: { modifiedAt: string; fields: CanonicalFields }, held: { sourceModifiedAt: Date | null; fields: CanonicalFields } | undefined): string[] {
  if (!held?.sourceModifiedAt || Date.parse(read.modifiedAt) !== held.sourceModifiedAt.getTime()) return [];
  const before = flattenFields(held.fields);
  const changed: string[] = [];
  for (const [field, value] of flattenFields(read.fields)) {
    if (before.has(field) ? !sameValue(value, before.get(field)) : !isEmptyValue(value)) changed.push(field);
  }
  return changed;
}
