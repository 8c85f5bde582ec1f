import { parseSfDateTime, toSfDateTime } from './dates';
import { recordError } from './errors';
import type { FieldValue } from './records';

/**
 * An Event keeps its time in several fields at once [S71][S72]: StartDateTime and ActivityDateTime
 * (the same instant), ActivityDate (its date), EndDateTime and DurationInMinutes (the same length),
 * EndDate. A write may name any of them; the org keeps them agreeing. This derives the whole set
 * from the record as it was and the fields written, the way every write path saves an Event.
 */

const TIME_FIELDS = ['StartDateTime', 'ActivityDateTime', 'ActivityDate', 'EndDateTime', 'DurationInMinutes', 'IsAllDayEvent'] as const;
const MINUTE_MS = 60_000;
/** An all-day event without a length lasts one day [S72]. */
const ALL_DAY_MINUTES = 24 * 60;

type Values = Readonly<Record<string, FieldValue>>;

/** Whether a write touches the Event's time (an update that does not is left as it is). */
export function touchesEventTime(changes: Values): boolean {
  return TIME_FIELDS.some((field) => field in changes);
}

const instant = (value: FieldValue | undefined): number | undefined => (typeof value === 'string' ? parseSfDateTime(value) : undefined);
const dateOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const midnightOf = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/**
 * The Event's time fields after a save of `changes` on `current` (undefined on create). Throws
 * RecordFailure as the org refuses: no start, no length on a timed event, two starts or two
 * lengths that disagree, a negative length (codes per [S72]; wording UNCONFIRMED).
 */
export function deriveEventTimes(current: Values | undefined, changes: Values): Record<string, FieldValue> {
  const allDay = (changes.IsAllDayEvent ?? current?.IsAllDayEvent ?? false) === true;
  const startGiven = instant(changes.StartDateTime);
  const dueGiven = instant(changes.ActivityDateTime);
  if (startGiven !== undefined && dueGiven !== undefined && startGiven !== dueGiven) {
    throw recordError('FIELD_INTEGRITY_EXCEPTION', 'Start Date Time and Due Date Time must match', ['StartDateTime', 'ActivityDateTime']);
  }
  const cleared = (field: string): boolean => field in changes && changes[field] === null;
  if (!allDay && (cleared('StartDateTime') || cleared('ActivityDateTime'))) throw recordError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [StartDateTime]', ['StartDateTime']);
  const dateGiven = typeof changes.ActivityDate === 'string' ? midnightOf(changes.ActivityDate) : undefined;
  let start = startGiven ?? dueGiven ?? (allDay ? dateGiven : undefined) ?? instant(current?.StartDateTime);
  if (start !== undefined && allDay) start = midnightOf(dateOf(start));
  if (start === undefined) throw recordError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [StartDateTime]', ['StartDateTime']);

  const endGiven = instant(changes.EndDateTime);
  const lengthGiven = typeof changes.DurationInMinutes === 'number' ? changes.DurationInMinutes : undefined;
  if (endGiven !== undefined && lengthGiven !== undefined && (endGiven - start) / MINUTE_MS !== lengthGiven) {
    throw recordError('FIELD_INTEGRITY_EXCEPTION', 'Duration and End Date Time must add up to the same length', ['DurationInMinutes', 'EndDateTime']);
  }
  const currentLength = typeof current?.DurationInMinutes === 'number' ? current.DurationInMinutes : undefined;
  // A new start keeps the length it had (the end moves with it), unless a new end or length is given.
  const minutes = endGiven !== undefined ? Math.round((endGiven - start) / MINUTE_MS) : (lengthGiven ?? currentLength ?? (allDay ? ALL_DAY_MINUTES : undefined));
  if (minutes === undefined) throw recordError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [DurationInMinutes]', ['DurationInMinutes']);
  if (minutes < 0) throw recordError('FIELD_INTEGRITY_EXCEPTION', 'Event duration cannot be negative', ['DurationInMinutes']);
  const end = start + minutes * MINUTE_MS;
  return {
    IsAllDayEvent: allDay,
    StartDateTime: toSfDateTime(start),
    // An all-day event's instant is its date (ActivityDate); a timed one's is ActivityDateTime [S71].
    ActivityDateTime: allDay ? null : toSfDateTime(start),
    ActivityDate: dateOf(start),
    EndDateTime: toSfDateTime(end),
    EndDate: dateOf(end),
    DurationInMinutes: minutes,
  };
}
