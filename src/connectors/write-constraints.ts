import { checkWrite, type ObjectConstraints, type ViolationPolicy } from '../model/field-constraints';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import { MappingValueError, objectMapping, toNative, unwrittenOwner, type CompiledMapping, type CompiledObjectMapping } from '../model/mapping';
import type { UpsertInput, UpsertOutcome } from './connector';

/** A connector's upsert (live or bulk): one outcome per input, in order. */
export type UpsertWrite = (objectType: ObjectType, inputs: readonly UpsertInput[]) => Promise<UpsertOutcome[]>;

/**
 * Reads a target object's constraints from the vendor's schema (describe, metadata, properties).
 * `fresh` is set when the vendor has just refused a value the last schema let through: a
 * connector that keeps the schema in a cache of its own (Pipedrive shares its field definitions
 * with the sync id lookup) must read it again then, not answer from that cache.
 */
export type DescribeConstraints = (objectType: ObjectType, options: { fresh: boolean }) => Promise<ObjectConstraints>;

/**
 * Puts the constraint check (model/field-constraints) in front of a connector's writes, live and
 * bulk alike: each record is checked in the vendor's terms (after the mapping) against the
 * object's described schema, read once per connector (one per connection) and read again after
 * the vendor refused a value the check let through (the schema may have changed since). A record that
 * cannot fit fails alone with a validation error naming field, limit and record, and is not sent;
 * the others are written as the connector writes them. The connector only provides `describe`,
 * and wraps its upserts: `const guarded = writeGuard({...}); upsertRecords: guarded(upsert)`.
 */
export function writeGuard(options: { provider: CrmProvider; mapping: CompiledMapping; describe: DescribeConstraints }): (write: UpsertWrite) => UpsertWrite {
  const cache = new Map<ObjectType, Promise<ObjectConstraints>>();
  // Objects whose schema the vendor contradicted since it was read: the next describe is fresh.
  const contradicted = new Set<ObjectType>();
  const constraintsOf = (objectType: ObjectType): Promise<ObjectConstraints> => {
    let cached = cache.get(objectType);
    if (!cached) {
      const fresh = contradicted.delete(objectType);
      cached = options.describe(objectType, { fresh });
      // A failed describe is not remembered: the next write asks again (as fresh as this one).
      cached.catch(() => {
        cache.delete(objectType);
        if (fresh) contradicted.add(objectType);
      });
      cache.set(objectType, cached);
    }
    return cached;
  };

  return (write) =>
    async (objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> => {
      if (inputs.length === 0) return write(objectType, inputs);
      const constraints = await constraintsOf(objectType);
      const outcomes: (UpsertOutcome | undefined)[] = inputs.map(() => undefined);
      const adjusted = new Map<number, { notes: string[]; fields: UpsertInput['fields'] }>();
      const passing: { index: number; input: UpsertInput }[] = [];
      const fields = writtenFields(options.mapping, objectType);
      inputs.forEach((input, index) => {
        const checked = checkInput(options.provider, options.mapping, objectType, constraints, fields, input);
        if ('failed' in checked) outcomes[index] = checked.failed;
        else {
          passing.push({ index, input: checked.input });
          if (checked.adjustments.length > 0) adjusted.set(index, { notes: checked.adjustments, fields: checked.input.fields });
        }
      });
      const written = passing.length > 0 ? await write(objectType, passing.map((entry) => entry.input)) : [];
      written.forEach((outcome, position) => {
        const { index } = passing[position] as (typeof passing)[number];
        const adjustment = adjusted.get(index);
        const landed = outcome.status === 'created' || outcome.status === 'updated' || outcome.status === 'unchanged';
        // The connector may have adjusted the record too (a kind its object cannot take): both are
        // said, and its `written`, worked out from the input the guard let through, is the truth.
        outcomes[index] = adjustment && landed ? { ...outcome, adjusted: [...adjustment.notes, ...(outcome.adjusted ?? [])], written: outcome.written ?? adjustment.fields } : outcome;
      });
      // The vendor refused a value the described schema let through: the schema may have changed
      // since we read it (a field shortened, an option removed), so the next write reads it again.
      // Not every vendor names the field (Dataverse's codes do not), so any validation refusal counts.
      if (written.some((outcome) => outcome.status === 'failed' && outcome.error.errorClass === 'validation')) {
        cache.delete(objectType);
        contradicted.add(objectType);
      }
      return outcomes.map((outcome, index) => outcome ?? { syncId: (inputs[index] as UpsertInput).syncId, status: 'failed', error: { provider: options.provider, errorClass: 'transient', message: 'no outcome for this record' } });
    };
}

type Checked = { input: UpsertInput; adjustments: string[] } | { failed: UpsertOutcome };

/** The object's written fields and their violation policies: the same for every input of a call. */
function writtenFields(mapping: CompiledMapping, objectType: ObjectType): { writes: CompiledObjectMapping['writes']; policies: Record<string, ViolationPolicy> } {
  const writes = objectMapping(mapping, objectType).writes;
  const policies: Record<string, ViolationPolicy> = {};
  for (const field of writes) if (field.onViolation) policies[field.native] = field.onViolation;
  return { writes, policies };
}

function checkInput(
  provider: CrmProvider,
  mapping: CompiledMapping,
  objectType: ObjectType,
  constraints: ObjectConstraints,
  { writes, policies }: ReturnType<typeof writtenFields>,
  given: UpsertInput,
): Checked {
  // An owner whose email no user id of this connection is mapped to is left out: the vendor keeps
  // the record's owner (or gives a new one its default owner), and the outcome says so.
  const ownerLeftOut = unwrittenOwner(mapping, objectType, given.fields);
  const input = ownerLeftOut ? { ...given, fields: withoutOwner(given.fields) } : given;
  const ownerNotes = ownerLeftOut ? ['skipped: owner: no user of this connection is mapped to its email (the owner here is kept)'] : [];
  let native: Record<string, unknown>;
  try {
    native = toNative(mapping, objectType, input.fields);
  } catch (error) {
    // A value the mapping cannot express: the connector reports it as it always has.
    if (error instanceof MappingValueError) return { input, adjustments: ownerNotes };
    throw error;
  }
  const result = checkWrite(constraints, native, { creating: input.externalId === undefined, record: `${objectType} ${input.syncId}`, policies });
  if (result.violations.length > 0) {
    const canonicalOf = (native: string) => writes.find((field) => field.native === native)?.canonical ?? native;
    return {
      failed: {
        syncId: input.syncId,
        status: 'failed',
        error: {
          provider,
          errorClass: 'validation',
          message: result.violations.map((violation) => violation.message).join('; '),
          fieldErrors: result.violations.map((violation) => ({ field: canonicalOf(violation.field), message: violation.message })),
        },
      },
    };
  }
  if (result.adjustments.length === 0) return { input, adjustments: ownerNotes };
  // Back into canonical terms: a truncated text is the same text on both sides (string fields only).
  const fields = structuredClone(input.fields);
  for (const adjustment of result.adjustments) {
    const field = writes.find((entry) => entry.native === adjustment.field);
    if (!field) continue;
    setOrDelete(fields, field.canonical, adjustment.action === 'skipped' ? undefined : result.values[adjustment.field]);
  }
  return { input: { ...input, fields }, adjustments: [...ownerNotes, ...result.adjustments.map((adjustment) => `${adjustment.action}: ${adjustment.message}`)] };
}

function withoutOwner(fields: UpsertInput['fields']): UpsertInput['fields'] {
  const rest = { ...fields };
  delete rest.owner;
  return rest;
}

function setOrDelete(fields: UpsertInput['fields'], path: string, value: unknown): void {
  const custom = path.startsWith('custom.');
  const holder: Record<string, unknown> | undefined = custom ? fields.custom : fields;
  const key = custom ? path.slice('custom.'.length) : path;
  if (!holder) return;
  if (value === undefined) delete holder[key];
  else holder[key] = value;
}
