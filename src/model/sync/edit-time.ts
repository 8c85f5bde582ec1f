import type { CrmProvider } from '../identifiers';

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
