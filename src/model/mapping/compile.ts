import { canonicalFieldKinds } from '../canonical';
import type { ObjectType } from '../identifiers';
import { assertTimeZone } from './convert';
import {
  connectorMappingSchema,
  mappingOverrideSchema,
  type ConnectorMapping,
  type ConnectorMappingSpec,
  type FieldMapping,
  type OwnerMap,
} from './spec';
import { ambiguousOwners } from './owners';

export interface MappingIssue {
  /** Where the bad entry is, e.g. `override.objects.deal.fields[0].values.Won`. */
  path: string;
  message: string;
}

export class MappingSpecError extends Error {
  constructor(readonly issues: readonly MappingIssue[]) {
    super(`Invalid field mapping:\n${issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n')}`);
    this.name = 'MappingSpecError';
  }
}

export interface CompiledObjectMapping {
  nativeObject: string;
  /** Fields read from the CRM into canonical (direction both or read). */
  reads: readonly FieldMapping[];
  /** Fields written from canonical into the CRM (direction both or write). */
  writes: readonly FieldMapping[];
  unmapped: 'ignore' | 'report';
}

export interface CompiledMapping {
  valueEncoding: ConnectorMapping['valueEncoding'];
  /** The connection's owner map (vendor user id -> lower-cased email); absent: owner fields are not mapped. */
  owners?: OwnerMap | undefined;
  objects: Partial<Record<ObjectType, CompiledObjectMapping>>;
}

interface Located {
  field: FieldMapping;
  path: string;
}

/**
 * Validates a connector's default mapping and a tenant's override, merges them, and checks what
 * a schema cannot: canonical fields exist, types fit them, enumerated values are known, picklists
 * are invertible where they are written, and no two entries fight over a field. Every problem is
 * reported at once, each with the path of the bad entry.
 */
export function compileMapping(defaults: ConnectorMappingSpec, override?: unknown): CompiledMapping {
  const issues: MappingIssue[] = [];
  const base = connectorMappingSchema.safeParse(defaults);
  if (!base.success) throw new MappingSpecError(zodIssues(base.error.issues, ''));
  const extra = override === undefined ? undefined : mappingOverrideSchema.safeParse(override);
  if (extra && !extra.success) throw new MappingSpecError(zodIssues(extra.error.issues, 'override.'));

  const merged = new Map<ObjectType, { nativeObject: string; unmapped: 'ignore' | 'report'; fields: Located[] }>();
  for (const [objectType, spec] of Object.entries(base.data.objects) as [ObjectType, NonNullable<ConnectorMapping['objects'][ObjectType]>][]) {
    merged.set(objectType, {
      nativeObject: spec.nativeObject,
      unmapped: spec.unmapped,
      fields: spec.fields.map((field, index) => ({ field, path: `objects.${objectType}.fields[${index}]` })),
    });
  }
  for (const [objectType, spec] of Object.entries(extra?.data.objects ?? {}) as [ObjectType, NonNullable<NonNullable<typeof extra>['data']>['objects'][ObjectType]][]) {
    if (!spec) continue;
    const at = `override.objects.${objectType}`;
    let target = merged.get(objectType);
    if (!target) {
      if (!spec.nativeObject) {
        issues.push({ path: `${at}.nativeObject`, message: `the defaults do not map ${objectType}, so the override must name the vendor object` });
        continue;
      }
      target = { nativeObject: spec.nativeObject, unmapped: 'ignore', fields: [] };
      merged.set(objectType, target);
    }
    if (spec.nativeObject) target.nativeObject = spec.nativeObject;
    if (spec.unmapped) target.unmapped = spec.unmapped;
    spec.remove.forEach((canonical, index) => {
      const before = target.fields.length;
      target.fields = target.fields.filter(({ field }) => field.canonical !== canonical);
      if (target.fields.length === before) issues.push({ path: `${at}.remove[${index}]`, message: `"${canonical}" is not mapped, so it cannot be removed` });
    });
    spec.fields.forEach((field, index) => {
      // An override entry replaces the default entry for the same canonical field and direction.
      target.fields = target.fields.filter(({ field: existing }) => !(existing.canonical === field.canonical && overlaps(existing, field)));
      target.fields.push({ field, path: `${at}.fields[${index}]` });
    });
  }

  const owners = extra?.data.owners;
  for (const { email, ids } of ambiguousOwners(owners ?? {})) {
    issues.push({ path: `override.owners.${ids[1] ?? ''}`, message: `users ${ids.join(', ')} all map to ${email}, so a write could not choose: keep one` });
  }
  const objects: CompiledMapping['objects'] = {};
  for (const [objectType, spec] of merged) {
    // No owner map: owner fields are neither read nor written (each CRM keeps its own owners).
    if (!owners) spec.fields = spec.fields.filter(({ field }) => field.type !== 'owner');
    for (const located of spec.fields) issues.push(...checkField(objectType, located));
    issues.push(...checkDuplicates(spec.fields));
    objects[objectType] = {
      nativeObject: spec.nativeObject,
      unmapped: spec.unmapped,
      reads: spec.fields.filter(({ field }) => field.direction !== 'write').map(({ field }) => field),
      writes: spec.fields.filter(({ field }) => field.direction !== 'read').map(({ field }) => field),
    };
  }
  if (issues.length > 0) throw new MappingSpecError(issues);
  return { valueEncoding: base.data.valueEncoding, objects, ...(owners ? { owners } : {}) };
}

function overlaps(a: FieldMapping, b: FieldMapping): boolean {
  return a.direction === 'both' || b.direction === 'both' || a.direction === b.direction;
}

function checkField(objectType: ObjectType, { field, path }: Located): MappingIssue[] {
  const issues: MappingIssue[] = [];
  const isCustom = field.canonical.startsWith('custom.');
  const kind = isCustom ? undefined : canonicalFieldKinds[objectType][field.canonical];
  if (!isCustom && !kind) {
    issues.push({
      path: `${path}.canonical`,
      message: `${objectType} has no canonical field "${field.canonical}" (known: ${Object.keys(canonicalFieldKinds[objectType]).join(', ')}; tenant fields go under custom.<name>)`,
    });
    return issues;
  }
  if (kind && !kind.types.includes(field.type)) {
    issues.push({ path: `${path}.type`, message: `${objectType}.${field.canonical} cannot be mapped as ${field.type} (use ${kind.types.join(' or ')})` });
  }
  if ((field.type === 'picklist' || field.type === 'multiselect') && kind?.values && !field.values) {
    issues.push({ path: `${path}.values`, message: `${objectType}.${field.canonical} takes only ${kind.values.join(', ')}: map the vendor's values to them` });
  }
  if (field.values && field.type !== 'picklist' && field.type !== 'multiselect') {
    issues.push({ path: `${path}.values`, message: `values apply only to picklist and multiselect fields, not ${field.type}` });
  }
  for (const [native, canonical] of Object.entries(field.values ?? {})) {
    if (kind?.values && !kind.values.includes(canonical)) {
      issues.push({ path: `${path}.values.${native}`, message: `"${canonical}" is not a ${objectType}.${field.canonical} value (use one of ${kind.values.join(', ')})` });
    }
  }
  if (field.direction !== 'read' && field.values) {
    const seen = new Map<string, string>();
    for (const [native, canonical] of Object.entries(field.values)) {
      const earlier = seen.get(canonical);
      if (earlier !== undefined) {
        issues.push({
          path: `${path}.values.${native}`,
          message: `both "${earlier}" and "${native}" map to "${canonical}", so a write could not choose; keep one here and read the other through a separate mapping with direction "read"`,
        });
      }
      seen.set(canonical, native);
    }
  }
  if (field.ownerFormat && field.type !== 'owner') {
    issues.push({ path: `${path}.ownerFormat`, message: `ownerFormat applies only to owner fields, not ${field.type}` });
  }
  if (field.format && field.type !== 'date' && field.type !== 'datetime') {
    issues.push({ path: `${path}.format`, message: `format applies only to date and datetime fields, not ${field.type}` });
  }
  if (field.onViolation === 'truncate' && field.type !== 'string') {
    issues.push({ path: `${path}.onViolation`, message: `truncate applies only to string fields, not ${field.type} (use park or skip)` });
  }
  if (field.onViolation && field.direction === 'read') {
    issues.push({ path: `${path}.onViolation`, message: 'onViolation applies to writes; this mapping only reads' });
  }
  if (field.timeZone) {
    try {
      assertTimeZone(field.timeZone);
    } catch {
      issues.push({ path: `${path}.timeZone`, message: `"${field.timeZone}" is not an IANA time zone (e.g. Europe/Berlin)` });
    }
  }
  return issues;
}

function checkDuplicates(fields: readonly Located[]): MappingIssue[] {
  const issues: MappingIssue[] = [];
  const readers = new Map<string, string>();
  const writers = new Map<string, string>();
  for (const { field, path } of fields) {
    if (field.direction !== 'write') {
      const earlier = readers.get(field.canonical);
      if (earlier) issues.push({ path, message: `${earlier} already reads into "${field.canonical}"` });
      readers.set(field.canonical, path);
    }
    if (field.direction !== 'read') {
      const earlier = writers.get(field.native);
      if (earlier) issues.push({ path, message: `${earlier} already writes vendor field "${field.native}"` });
      writers.set(field.native, path);
    }
  }
  return issues;
}

function zodIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], prefix: string): MappingIssue[] {
  return issues.map((issue) => ({
    path: prefix + issue.path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join(''),
    message: issue.message,
  }));
}

/**
 * Only the owner map of a tenant's override, for a connector's secondary mappings (Salesforce
 * Events, HubSpot calls, Dataverse phone calls...): their fields are the connector's own, but
 * their owners are the connection's. Undefined when none is configured or the override is invalid
 * (compileMapping of the main mapping reports that).
 */
export function ownersOnly(override: unknown): { owners: OwnerMap } | undefined {
  const parsed = override === undefined ? undefined : mappingOverrideSchema.safeParse(override);
  return parsed?.success && parsed.data.owners ? { owners: parsed.data.owners } : undefined;
}
