/**
 * Zoho takes `If-Unmodified-Since` on an update: the call is refused (412 `ALREADY_MODIFIED`)
 * when a record's Modified_Time is later than the date given [Z63]. The header is one per call,
 * not per record, and Modified_Time holds whole seconds, so the version a read gives a record is
 * the condition its update must carry: "not modified after the second before Zoho answered the
 * read". Every record of one read shares it, so one update call still carries up to 100 records,
 * and an edit a person makes after our read (in the second of the answer or later) is refused.
 *
 * A record saved in the very second Zoho answered may be saved again in that second, after our
 * read, and no date refuses that save while letting ours through: such a version is `unsettled`,
 * and a write against it is held back until that second has passed and the record is read again
 * (upsertAll). Without the answer's `Date` header the record's own stamp is the condition, and an
 * edit in the same second as its last save passes (docs/architecture.md, "The window between
 * read and write").
 */
const UNSETTLED = 'unsettled:';

/**
 * The version of a record read with Modified_Time `modifiedTime` in an answer dated
 * `answeredAtMs` (NaN when the answer had no `Date`): a settled version is the
 * `If-Unmodified-Since` value its update carries.
 */
export function readVersion(modifiedTime: string, answeredAtMs: number): string | undefined {
  const savedMs = Date.parse(modifiedTime);
  if (Number.isNaN(savedMs)) return undefined;
  const savedSecond = Math.floor(savedMs / 1000);
  if (!Number.isFinite(answeredAtMs)) return zohoDateTime(savedSecond);
  const answeredSecond = Math.floor(answeredAtMs / 1000);
  return savedSecond >= answeredSecond ? `${UNSETTLED}${zohoDateTime(savedSecond)}` : zohoDateTime(answeredSecond - 1);
}

export function isUnsettled(version: string): boolean {
  return version.startsWith(UNSETTLED);
}

/** Zoho's date-time form (`2024-01-15T15:26:49+05:30`), in UTC. */
function zohoDateTime(epochSecond: number): string {
  return `${new Date(epochSecond * 1000).toISOString().slice(0, 19)}+00:00`;
}

/**
 * The records of one read answer, each with the version its update is conditional on: every read
 * a write may be based on (Contacts, Accounts, Deals, and Tasks, Calls, Events) goes through here.
 */
export function withReadVersions<R extends { modifiedAt: string }>(records: readonly R[], answerDate: string | undefined): (R & { version: string | undefined })[] {
  const answeredAtMs = Date.parse(answerDate ?? '');
  return records.map((record) => ({ ...record, version: readVersion(record.modifiedAt, answeredAtMs) }));
}
