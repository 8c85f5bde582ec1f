/** Salesforce renders datetimes as `2024-05-29T16:26:40.000+0000` in REST JSON. */
export function toSfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Bulk API CSV uses the `Z` form. */
export function toIsoDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Parses the datetime forms the API accepts (Z, +hh:mm, +hhmm); undefined when malformed. */
export function parseSfDateTime(text: string): number | undefined {
  if (!DATETIME.test(text)) return undefined;
  const normalised = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalised);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isSfDate(text: string): boolean {
  return DATE.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}

export function floorToMinute(ms: number): number {
  return ms - (ms % 60_000);
}
