import type { CanonicalFields } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { MappingValueError, objectMapping, toCanonical, toNative } from '../../model/mapping';
import { overlayFields } from '../../model/sync';
import { retryInPlace } from '../retry-in-place';
import type { PipedriveContext } from './context';
import { changelogInstant, LOGGED_OBJECTS, readChangelog, type ChangelogEntry } from './field-history';
import { toPipedriveBody } from './record-mapper';
import { PIPEDRIVE_API, PIPEDRIVE_OBJECTS } from './spec';

/** Native fields the mapping synthesizes from others: the changelog lists their parts, not them. */
const SYNTHESIZED = new Set(['stage', 'done', 'due_at']);

/**
 * The change a person made to a field between our read and our write, which our write then
 * replaced: in the field's changelog, the change just before ours, unless an integration made it
 * (ours are `api`), and only if it came in or after the second of our read (a change in that very
 * second may be one we read: putting its value back costs a write and nothing else). Undefined
 * when our write is not the field's latest change (someone wrote after us: theirs stands).
 */
export function overwrittenChange(entries: readonly ChangelogEntry[], key: string, writtenAtMs: number, readAtMs: number): ChangelogEntry | undefined {
  const secondOf = (entry: ChangelogEntry): number => Date.parse(changelogInstant(entry.time) ?? '');
  // Newest first, whatever order the endpoint lists them in; within a second, as listed.
  const changes = entries.filter((entry) => entry.field_key === key && !Number.isNaN(secondOf(entry))).sort((a, b) => secondOf(b) - secondOf(a));
  const [ours, before] = changes;
  if (!ours || ours.change_source !== 'api' || secondOf(ours) !== Math.floor(writtenAtMs / 1000) * 1000) return undefined;
  if (!before || before.change_source === 'api') return undefined;
  return secondOf(before) >= Math.floor(readAtMs / 1000) * 1000 ? before : undefined;
}

/**
 * Pipedrive takes no version on a write, so a person's edit of a field we write, made between our
 * read and our write, is overwritten. The changelog still has it [P11]: read it once our update has
 * landed, put the person's values back, and say when they were edited (canonical field -> ISO),
 * for the engine to read the record again and merge them under their own times. Undefined when
 * nothing was overwritten. The read and the write back are retried in place: our update has landed,
 * and an activity run again would find nothing to write and lose the edit.
 */
export async function restoreOverwrittenEdits(
  ctx: PipedriveContext,
  objectType: ObjectType,
  write: { id: string; fields: Readonly<CanonicalFields>; readVersion: string; writtenAt: string },
): Promise<Record<string, string> | undefined> {
  if (!LOGGED_OBJECTS.has(objectType)) return undefined;
  const keys = Object.keys(toNative(ctx.mapping, objectType, write.fields)).filter((key) => !SYNTHESIZED.has(key));
  if (keys.length === 0) return undefined;
  const entity = PIPEDRIVE_OBJECTS[objectType].entity;
  const log = await retryInPlace(() => readChangelog(ctx, objectType, write.id));
  const writtenAtMs = Date.parse(write.writtenAt);
  const readAtMs = Date.parse(write.readVersion);
  const lost: Record<string, unknown> = {};
  const times = new Map<string, string>();
  for (const key of keys) {
    const change = overwrittenChange(log, key, writtenAtMs, readAtMs);
    if (!change) continue;
    lost[key] = change.new_value ?? null;
    times.set(key, changelogInstant(change.time) as string);
  }
  if (times.size === 0) return undefined;

  const reads = objectMapping(ctx.mapping, objectType).reads;
  let fields: CanonicalFields = {};
  const editedAt: Record<string, string> = {};
  for (const [key, value] of Object.entries(lost)) {
    const field = reads.find((candidate) => candidate.native === key);
    if (!field) continue;
    try {
      fields = overlayFields(fields, toCanonical(ctx.mapping, objectType, { [key]: value }).fields);
      editedAt[field.canonical] = times.get(key) as string;
    } catch (error) {
      // A value the changelog shows as text that the mapping cannot read back (UNCONFIRMED shapes): left as written.
      if (!(error instanceof MappingValueError)) throw error;
    }
  }
  if (Object.keys(editedAt).length === 0) return undefined;
  const body = toPipedriveBody(ctx.mapping, objectType, fields, undefined);
  // https://developers.pipedrive.com/docs/api/v2/Persons#updatePerson
  await retryInPlace(() => ctx.http.json({ method: 'PATCH', path: `${PIPEDRIVE_API.recordsPath}/${entity}/${write.id}`, body, kind: 'update' }));
  return editedAt;
}
