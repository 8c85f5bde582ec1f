import type { FastifyInstance } from 'fastify';
import { notFound, standardError, validationError, type StandardError } from './errors';
import { integrationSource, objectTypeParam } from './request-context';
import { SCHEMAS, type HubSpotObjectType } from './schema';
import type { RecordStore, WriteSource } from './store';

export type AssociationCategory = 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED';

export interface AssociationLabel {
  category: AssociationCategory;
  typeId: number;
  label: string | null;
}

/** HubSpot-defined unlabelled ("default") type ids and their inverses, per direction. */
const DEFAULT_TYPES: Record<string, [number, number]> = {
  'contacts>companies': [279, 280],
  'companies>contacts': [280, 279],
  'deals>contacts': [3, 4],
  'contacts>deals': [4, 3],
  'deals>companies': [341, 342],
  'companies>deals': [342, 341],
  'tasks>contacts': [204, 203],
  'contacts>tasks': [203, 204],
  'tasks>companies': [192, 191],
  'companies>tasks': [191, 192],
  'tasks>deals': [216, 215],
  'deals>tasks': [215, 216],
  // Calls, emails and meetings: the official client's AssociationTypes enum (vendor-facts H62).
  'calls>contacts': [194, 193],
  'contacts>calls': [193, 194],
  'calls>companies': [182, 181],
  'companies>calls': [181, 182],
  'calls>deals': [206, 205],
  'deals>calls': [205, 206],
  'emails>contacts': [198, 197],
  'contacts>emails': [197, 198],
  'emails>companies': [186, 185],
  'companies>emails': [185, 186],
  'emails>deals': [210, 209],
  'deals>emails': [209, 210],
  'meetings>contacts': [200, 199],
  'contacts>meetings': [199, 200],
  'meetings>companies': [188, 187],
  'companies>meetings': [187, 188],
  'meetings>deals': [212, 211],
  'deals>meetings': [211, 212],
};

/**
 * HubSpot-defined labelled types: the primary company of a contact (1, inverse 2) and of a deal
 * (5, inverse 6) [H9 AssociationTypes enum][H50]. Activities have no primary type.
 */
const LABELLED: Record<number, { inverse: number; label: string }> = {
  1: { inverse: 2, label: 'Primary' },
  2: { inverse: 1, label: 'Primary' },
  5: { inverse: 6, label: 'Primary' },
  6: { inverse: 5, label: 'Primary' },
};

/** The primary type id from `fromType` to `toType`, where HubSpot defines one (contact/deal -> company). */
const PRIMARY_TYPES: Record<string, number> = { 'contacts>companies': 1, 'deals>companies': 5 };

/** One pair gaining its first association or losing its last, as the webhooks report it [H24][H51]. */
export interface AssociationChange {
  fromType: HubSpotObjectType;
  fromId: string;
  toType: HubSpotObjectType;
  toId: string;
  removed: boolean;
  /** The pair carries the primary label (read from `fromType`'s side). */
  primary: boolean;
  source: WriteSource;
  occurredAt: number;
}

/** Associations between records, kept in both directions as HubSpot reports them. */
export class AssociationStore {
  private readonly links = new Map<string, Map<string, AssociationLabel[]>>();
  private readonly listeners: ((change: AssociationChange) => void)[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  onChange(listener: (change: AssociationChange) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Adds one association type between a pair (both directions). A labelled type brings the
   * unlabelled default with it (every labelled pair is also associated), and a primary type
   * takes the primary label off the record's other pair of that type: one primary company per
   * contact or deal (UNCONFIRMED that HubSpot demotes rather than refuses, see vendor-facts H52).
   * Association changes do not touch either record's last-modified stamp (vendor-facts H53).
   */
  add(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, label: AssociationLabel, source: WriteSource = API_SOURCE): void {
    this.addAll(fromType, fromId, toType, toId, [label], source);
  }

  /** Several types for one pair in one request: one webhook per side, saying whether the pair ends up primary. */
  addAll(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, labels: readonly AssociationLabel[], source: WriteSource = API_SOURCE): void {
    const isNew = this.list(fromType, fromId, toType).every((entry) => entry.toObjectId !== toId);
    const defaults = DEFAULT_TYPES[`${fromType}>${toType}`];
    const primaryType = PRIMARY_TYPES[`${fromType}>${toType}`];
    for (const label of labels) {
      if (defaults && label.typeId !== defaults[0]) this.addOne(fromType, fromId, toType, toId, { category: 'HUBSPOT_DEFINED', typeId: defaults[0], label: null });
      if (primaryType !== undefined && label.typeId === primaryType) {
        for (const other of this.list(fromType, fromId, toType)) if (other.toObjectId !== toId) this.dropType(fromType, fromId, toType, other.toObjectId, primaryType);
      }
      this.addOne(fromType, fromId, toType, toId, label);
    }
    if (isNew) this.emit(fromType, fromId, toType, toId, false, source);
  }

  remove(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, source: WriteSource = API_SOURCE): void {
    const primary = this.isPrimary(fromType, fromId, toType, toId);
    const existed = this.links.get(`${fromType}:${fromId}>${toType}`)?.delete(toId) === true;
    this.links.get(`${toType}:${toId}>${fromType}`)?.delete(fromId);
    if (existed) this.emit(fromType, fromId, toType, toId, true, source, primary);
  }

  /**
   * Drops every association of an archived record, as HubSpot does when a record is deleted
   * (UNCONFIRMED whether a restore brings them back: here it does not; no associationChange
   * webhooks are sent for them, the deletion event stands for them).
   */
  removeAllOf(type: HubSpotObjectType, id: string): void {
    for (const [key, targets] of this.links) {
      const [from, toType] = key.split('>') as [string, HubSpotObjectType];
      if (from === `${type}:${id}`) {
        for (const toId of targets.keys()) this.links.get(`${toType}:${toId}>${type}`)?.delete(id);
        this.links.delete(key);
      }
    }
  }

  list(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType): { toObjectId: string; associationTypes: AssociationLabel[] }[] {
    const targets = this.links.get(`${fromType}:${fromId}>${toType}`) ?? new Map<string, AssociationLabel[]>();
    return [...targets].map(([toObjectId, associationTypes]) => ({ toObjectId, associationTypes })).sort((a, b) => Number(a.toObjectId) - Number(b.toObjectId));
  }

  isPrimary(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string): boolean {
    const primaryType = PRIMARY_TYPES[`${fromType}>${toType}`] ?? PRIMARY_TYPES[`${toType}>${fromType}`];
    if (primaryType === undefined) return false;
    const owner = PRIMARY_TYPES[`${fromType}>${toType}`] !== undefined ? { type: fromType, id: fromId, other: toType, otherId: toId } : { type: toType, id: toId, other: fromType, otherId: fromId };
    return this.list(owner.type, owner.id, owner.other).some((entry) => entry.toObjectId === owner.otherId && entry.associationTypes.some((type) => type.typeId === primaryType));
  }

  private addOne(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, label: AssociationLabel): void {
    this.put(fromType, fromId, toType, toId, label);
    const inverseId = inverseTypeId(fromType, toType, label.typeId);
    this.put(toType, toId, fromType, fromId, { ...label, typeId: inverseId, label: label.category === 'HUBSPOT_DEFINED' ? labelOf(inverseId) : label.label });
  }

  private dropType(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, typeId: number): void {
    const inverse = inverseTypeId(fromType, toType, typeId);
    const forward = this.links.get(`${fromType}:${fromId}>${toType}`);
    const backward = this.links.get(`${toType}:${toId}>${fromType}`);
    forward?.set(toId, (forward.get(toId) ?? []).filter((label) => label.typeId !== typeId));
    backward?.set(fromId, (backward.get(fromId) ?? []).filter((label) => label.typeId !== inverse));
  }

  private emit(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, removed: boolean, source: WriteSource, wasPrimary?: boolean): void {
    const primary = wasPrimary ?? this.isPrimary(fromType, fromId, toType, toId);
    const change: AssociationChange = { fromType, fromId, toType, toId, removed, primary, source, occurredAt: this.now() };
    for (const listener of this.listeners) listener(change);
  }

  private put(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, label: AssociationLabel): void {
    const key = `${fromType}:${fromId}>${toType}`;
    let targets = this.links.get(key);
    if (!targets) {
      targets = new Map<string, AssociationLabel[]>();
      this.links.set(key, targets);
    }
    const labels = targets.get(toId) ?? [];
    if (!labels.some((existing) => existing.typeId === label.typeId && existing.category === label.category)) labels.push(label);
    targets.set(toId, labels);
  }
}

/** Used only where no request names the writer (in-process callers); API routes pass the calling app. */
const API_SOURCE: WriteSource = { changeSource: 'INTEGRATION', sourceId: '0' };

export function defaultTypeId(fromType: HubSpotObjectType, toType: HubSpotObjectType): number {
  const pair = DEFAULT_TYPES[`${fromType}>${toType}`];
  if (!pair) throw validationError(`No default association type between ${fromType} and ${toType}`);
  return pair[0];
}

/** The primary (labelled) type from a contact or deal to a company; other pairs have none. */
export function primaryTypeId(fromType: HubSpotObjectType, toType: HubSpotObjectType): number {
  const typeId = PRIMARY_TYPES[`${fromType}>${toType}`];
  if (typeId === undefined) throw validationError(`No primary association type from ${fromType} to ${toType}`);
  return typeId;
}

function inverseTypeId(fromType: HubSpotObjectType, toType: HubSpotObjectType, typeId: number): number {
  const pair = DEFAULT_TYPES[`${fromType}>${toType}`];
  if (pair && pair[0] === typeId) return pair[1];
  return LABELLED[typeId]?.inverse ?? typeId;
}

function labelOf(typeId: number): string | null {
  return LABELLED[typeId]?.label ?? null;
}

interface PairParams {
  type: string;
  id: string;
  toType: string;
  toId: string;
}

/** Associations v4: default PUT, labelled PUT, read, delete [H9]. */
export function registerAssociationRoutes(app: FastifyInstance, store: RecordStore, associations: AssociationStore): void {
  const resolvePair = (params: PairParams): [HubSpotObjectType, HubSpotObjectType] => {
    const fromType = objectTypeParam(params.type);
    const toType = objectTypeParam(params.toType);
    for (const [type, id] of [[fromType, params.id], [toType, params.toId]] as const) {
      const record = store.get(type, id);
      if (!record || record.archived) throw notFound(id);
    }
    return [fromType, toType];
  };

  app.put<{ Params: PairParams }>('/crm/v4/objects/:type/:id/associations/default/:toType/:toId', async (request) => {
    const startedAt = new Date().toISOString();
    const [fromType, toType] = resolvePair(request.params);
    const typeId = defaultTypeId(fromType, toType);
    associations.add(fromType, request.params.id, toType, request.params.toId, { category: 'HUBSPOT_DEFINED', typeId, label: null }, integrationSource(request));
    const spec = (from: string, to: string, associationTypeId: number): Record<string, unknown> => ({
      from: { id: from },
      to: { id: to },
      associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId },
    });
    return {
      status: 'COMPLETE',
      results: [spec(request.params.id, request.params.toId, typeId), spec(request.params.toId, request.params.id, inverseTypeId(fromType, toType, typeId))],
      startedAt,
      completedAt: new Date().toISOString(),
    };
  });

  app.put<{ Params: PairParams; Body: { associationCategory?: AssociationCategory; associationTypeId?: number }[] | undefined }>(
    '/crm/v4/objects/:type/:id/associations/:toType/:toId',
    async (request, reply) => {
      const [fromType, toType] = resolvePair(request.params);
      const specs = request.body ?? [];
      if (!Array.isArray(specs) || specs.length === 0) throw validationError('At least one association spec is required');
      const wanted = specs.map((spec): AssociationLabel => {
        if (!spec.associationCategory || typeof spec.associationTypeId !== 'number') throw validationError('associationCategory and associationTypeId are required');
        return { category: spec.associationCategory, typeId: spec.associationTypeId, label: spec.associationCategory === 'HUBSPOT_DEFINED' ? labelOf(spec.associationTypeId) : `label-${spec.associationTypeId}` };
      });
      associations.addAll(fromType, request.params.id, toType, request.params.toId, wanted, integrationSource(request));
      const labels = associations
        .list(fromType, request.params.id, toType)
        .find((entry) => entry.toObjectId === request.params.toId)
        ?.associationTypes.flatMap((entry) => (entry.label === null ? [] : [entry.label]));
      return reply.code(201).send({
        fromObjectTypeId: SCHEMAS[fromType].typeId,
        fromObjectId: Number(request.params.id),
        toObjectTypeId: SCHEMAS[toType].typeId,
        toObjectId: Number(request.params.toId),
        labels: labels ?? [],
      });
    },
  );

  app.get<{ Params: Omit<PairParams, 'toId'>; Querystring: { after?: string; limit?: string } }>('/crm/v4/objects/:type/:id/associations/:toType', async (request) => {
    const fromType = objectTypeParam(request.params.type);
    const toType = objectTypeParam(request.params.toType);
    const limit = Math.min(Number(request.query.limit ?? 500) || 500, 500);
    const after = Number(request.query.after ?? 0) || 0;
    const all = associations.list(fromType, request.params.id, toType);
    const page = all.slice(after, after + limit).map((entry) => ({ toObjectId: Number(entry.toObjectId), associationTypes: entry.associationTypes }));
    return after + limit < all.length ? { results: page, paging: { next: { after: String(after + limit) } } } : { results: page };
  });

  app.delete<{ Params: PairParams }>('/crm/v4/objects/:type/:id/associations/:toType/:toId', async (request, reply) => {
    associations.remove(objectTypeParam(request.params.type), request.params.id, objectTypeParam(request.params.toType), request.params.toId, integrationSource(request));
    return reply.code(204).send();
  });
}

/** Ids per v4 batch association read [H50]. */
export const ASSOCIATION_READ_MAX = 1000;
/** Associations per input per page of a batch read: UNCONFIRMED (HubSpot documents paging, not the size); the single-record read's 500 is used. */
export const ASSOCIATIONS_PER_INPUT_PAGE = 500;

interface BatchPairParams {
  fromType: string;
  toType: string;
}

interface SpecInput {
  associationCategory?: AssociationCategory;
  associationTypeId?: number;
}

interface BatchAssociationBody {
  inputs?: { id?: string; after?: string; from?: { id?: string }; to?: { id?: string } | { id?: string }[]; types?: SpecInput[] }[];
}

function batchInputs(body: BatchAssociationBody | undefined): NonNullable<BatchAssociationBody['inputs']> {
  if (!Array.isArray(body?.inputs)) throw validationError('Invalid input JSON: "inputs" must be an array');
  return body.inputs;
}

/** `{status, results, startedAt, completedAt}`, or 207 with `numErrors` and `errors` when some inputs failed [H9][H37]. */
function batchAnswer(okCode: number, startedAt: string, results: unknown[], errors: StandardError[]): { code: number; body: Record<string, unknown> } {
  const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
  return errors.length === 0 ? { code: okCode, body } : { code: 207, body: { ...body, numErrors: errors.length, errors } };
}

/**
 * Associations v4 batch endpoints the SDK's `crm.associations.v4.batchApi` calls [H9][H37]:
 * `read` (per input, its associations with labels; none found is a 207 error entry
 * `crm.associations.NO_ASSOCIATIONS_FOUND`), `create` (labelled, 201), `associate/default` (200),
 * `archive` (204). Read takes 1,000 ids and pages each input's associations; the create and
 * archive input limits are not emulated (UNCONFIRMED).
 */
export function registerAssociationBatchRoutes(app: FastifyInstance, store: RecordStore, associations: AssociationStore, pageSize = ASSOCIATIONS_PER_INPUT_PAGE): void {
  const live = (type: HubSpotObjectType, id: string): boolean => {
    const record = store.get(type, id);
    return record !== undefined && !record.archived;
  };
  const types = (params: BatchPairParams): [HubSpotObjectType, HubSpotObjectType] => [objectTypeParam(params.fromType), objectTypeParam(params.toType)];
  const missingPair = (fromType: HubSpotObjectType, toType: HubSpotObjectType, fromId: string, toId: string): StandardError =>
    standardError('OBJECT_NOT_FOUND', `Could not find ${live(fromType, fromId) ? `${SCHEMAS[toType].singular} ${toId}` : `${SCHEMAS[fromType].singular} ${fromId}`}.`, { fromObjectId: [fromId], toObjectId: [toId] });

  app.post<{ Params: BatchPairParams; Body: BatchAssociationBody | undefined }>('/crm/v4/associations/:fromType/:toType/batch/read', async (request, reply) => {
    const startedAt = new Date().toISOString();
    const [fromType, toType] = types(request.params);
    const inputs = batchInputs(request.body);
    // 1,000 ids per request since February 2025 [H50]; the refusal's wording is UNCONFIRMED.
    if (inputs.length > ASSOCIATION_READ_MAX) throw validationError(`The maximum number of inputs supported in a batch request is ${ASSOCIATION_READ_MAX}. Please reduce the number of items and try again`);
    const results: unknown[] = [];
    const errors: StandardError[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const found = live(fromType, id) ? associations.list(fromType, id, toType) : [];
      if (found.length === 0) {
        // As HubSpot reports it (message and context as clients log them, UNCONFIRMED beyond that).
        errors.push(
          standardError('OBJECT_NOT_FOUND', `No ${SCHEMAS[toType].singular} is associated with ${SCHEMAS[fromType].singular} ${id}.`, { fromObjectId: [id], fromObjectType: [SCHEMAS[fromType].singular], toObjectType: [SCHEMAS[toType].singular] }, { subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND' }),
        );
        continue;
      }
      // Each input pages its own associations: `paging` only when more follow, its `after` sent back alongside the id [H50].
      const offset = Number(input.after ?? 0) || 0;
      const page = found.slice(offset, offset + pageSize);
      const result: Record<string, unknown> = { from: { id }, to: page.map((entry) => ({ toObjectId: Number(entry.toObjectId), associationTypes: entry.associationTypes })) };
      if (offset + pageSize < found.length) result.paging = { next: { after: String(offset + pageSize), link: null } };
      results.push(result);
    }
    const answer = batchAnswer(200, startedAt, results, errors);
    return reply.code(answer.code).send(answer.body);
  });

  app.post<{ Params: BatchPairParams; Body: BatchAssociationBody | undefined }>('/crm/v4/associations/:fromType/:toType/batch/create', async (request, reply) => {
    const startedAt = new Date().toISOString();
    const [fromType, toType] = types(request.params);
    const results: unknown[] = [];
    const errors: StandardError[] = [];
    for (const input of batchInputs(request.body)) {
      const fromId = String(input.from?.id ?? '');
      const toId = String((Array.isArray(input.to) ? undefined : input.to?.id) ?? '');
      const specs = input.types ?? [];
      if (!Array.isArray(specs) || specs.length === 0 || specs.some((spec) => !spec.associationCategory || typeof spec.associationTypeId !== 'number')) {
        throw validationError('associationCategory and associationTypeId are required');
      }
      if (!live(fromType, fromId) || !live(toType, toId)) {
        errors.push(missingPair(fromType, toType, fromId, toId));
        continue;
      }
      const wanted = specs.map((spec): AssociationLabel => {
        const typeId = spec.associationTypeId as number;
        return { category: spec.associationCategory as AssociationCategory, typeId, label: spec.associationCategory === 'HUBSPOT_DEFINED' ? labelOf(typeId) : `label-${typeId}` };
      });
      associations.addAll(fromType, fromId, toType, toId, wanted, integrationSource(request));
      const labels = associations
        .list(fromType, fromId, toType)
        .find((entry) => entry.toObjectId === toId)
        ?.associationTypes.flatMap((entry) => (entry.label === null ? [] : [entry.label]));
      results.push({ fromObjectTypeId: SCHEMAS[fromType].typeId, fromObjectId: Number(fromId), toObjectTypeId: SCHEMAS[toType].typeId, toObjectId: Number(toId), labels: labels ?? [] });
    }
    const answer = batchAnswer(201, startedAt, results, errors);
    return reply.code(answer.code).send(answer.body);
  });

  app.post<{ Params: BatchPairParams; Body: BatchAssociationBody | undefined }>('/crm/v4/associations/:fromType/:toType/batch/associate/default', async (request, reply) => {
    const startedAt = new Date().toISOString();
    const [fromType, toType] = types(request.params);
    const typeId = defaultTypeId(fromType, toType);
    const results: unknown[] = [];
    const errors: StandardError[] = [];
    for (const input of batchInputs(request.body)) {
      const fromId = String(input.from?.id ?? '');
      const toId = String((Array.isArray(input.to) ? undefined : input.to?.id) ?? '');
      if (!live(fromType, fromId) || !live(toType, toId)) {
        errors.push(missingPair(fromType, toType, fromId, toId));
        continue;
      }
      associations.add(fromType, fromId, toType, toId, { category: 'HUBSPOT_DEFINED', typeId, label: null }, integrationSource(request));
      results.push({ from: { id: fromId }, to: { id: toId }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId } });
    }
    const answer = batchAnswer(200, startedAt, results, errors);
    return reply.code(answer.code).send(answer.body);
  });

  app.post<{ Params: BatchPairParams; Body: BatchAssociationBody | undefined }>('/crm/v4/associations/:fromType/:toType/batch/archive', async (request, reply) => {
    const [fromType, toType] = types(request.params);
    for (const input of batchInputs(request.body)) {
      const fromId = String(input.from?.id ?? '');
      const targets = Array.isArray(input.to) ? input.to : [];
      for (const target of targets) associations.remove(fromType, fromId, toType, String(target.id ?? ''), integrationSource(request));
    }
    return reply.code(204).send();
  });
}
