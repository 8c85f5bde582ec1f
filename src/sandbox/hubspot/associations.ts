import type { FastifyInstance } from 'fastify';
import { notFound, standardError, validationError, type StandardError } from './errors';
import { objectTypeParam } from './request-context';
import { SCHEMAS, type HubSpotObjectType } from './schema';
import type { RecordStore } from './store';

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
};

/** HubSpot-defined labelled types: primary company of a contact / deal. */
const LABELLED: Record<number, { inverse: number; label: string }> = {
  1: { inverse: 2, label: 'Primary' },
  2: { inverse: 1, label: 'Primary' },
  5: { inverse: 6, label: 'Primary' },
  6: { inverse: 5, label: 'Primary' },
};

/** Associations between records, kept in both directions as HubSpot reports them. */
export class AssociationStore {
  private readonly links = new Map<string, Map<string, AssociationLabel[]>>();

  add(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, label: AssociationLabel): void {
    this.put(fromType, fromId, toType, toId, label);
    const inverseId = inverseTypeId(fromType, toType, label.typeId);
    this.put(toType, toId, fromType, fromId, { ...label, typeId: inverseId, label: label.category === 'HUBSPOT_DEFINED' ? labelOf(inverseId) : label.label });
  }

  remove(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string): void {
    this.links.get(`${fromType}:${fromId}>${toType}`)?.delete(toId);
    this.links.get(`${toType}:${toId}>${fromType}`)?.delete(fromId);
  }

  list(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType): { toObjectId: string; associationTypes: AssociationLabel[] }[] {
    const targets = this.links.get(`${fromType}:${fromId}>${toType}`) ?? new Map<string, AssociationLabel[]>();
    return [...targets].map(([toObjectId, associationTypes]) => ({ toObjectId, associationTypes })).sort((a, b) => Number(a.toObjectId) - Number(b.toObjectId));
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

export function defaultTypeId(fromType: HubSpotObjectType, toType: HubSpotObjectType): number {
  const pair = DEFAULT_TYPES[`${fromType}>${toType}`];
  if (!pair) throw validationError(`No default association type between ${fromType} and ${toType}`);
  return pair[0];
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
    associations.add(fromType, request.params.id, toType, request.params.toId, { category: 'HUBSPOT_DEFINED', typeId, label: null });
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
      for (const spec of specs) {
        if (!spec.associationCategory || typeof spec.associationTypeId !== 'number') throw validationError('associationCategory and associationTypeId are required');
        const label = spec.associationCategory === 'HUBSPOT_DEFINED' ? labelOf(spec.associationTypeId) : `label-${spec.associationTypeId}`;
        associations.add(fromType, request.params.id, toType, request.params.toId, { category: spec.associationCategory, typeId: spec.associationTypeId, label });
      }
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
    associations.remove(objectTypeParam(request.params.type), request.params.id, objectTypeParam(request.params.toType), request.params.toId);
    return reply.code(204).send();
  });
}

interface BatchPairParams {
  fromType: string;
  toType: string;
}

interface SpecInput {
  associationCategory?: AssociationCategory;
  associationTypeId?: number;
}

interface BatchAssociationBody {
  inputs?: { id?: string; from?: { id?: string }; to?: { id?: string } | { id?: string }[]; types?: SpecInput[] }[];
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
 * `archive` (204). Input-count limits are not emulated.
 */
export function registerAssociationBatchRoutes(app: FastifyInstance, store: RecordStore, associations: AssociationStore): void {
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
    const results: unknown[] = [];
    const errors: StandardError[] = [];
    for (const input of batchInputs(request.body)) {
      const id = String(input.id ?? '');
      const found = live(fromType, id) ? associations.list(fromType, id, toType) : [];
      if (found.length === 0) {
        // As HubSpot reports it (message and context as clients log them, UNCONFIRMED beyond that).
        errors.push(
          standardError('OBJECT_NOT_FOUND', `No ${SCHEMAS[toType].singular} is associated with ${SCHEMAS[fromType].singular} ${id}.`, { fromObjectId: [id], fromObjectType: [SCHEMAS[fromType].singular], toObjectType: [SCHEMAS[toType].singular] }, { subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND' }),
        );
        continue;
      }
      results.push({ from: { id }, to: found.map((entry) => ({ toObjectId: Number(entry.toObjectId), associationTypes: entry.associationTypes })) });
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
      for (const spec of specs) {
        const typeId = spec.associationTypeId as number;
        const label = spec.associationCategory === 'HUBSPOT_DEFINED' ? labelOf(typeId) : `label-${typeId}`;
        associations.add(fromType, fromId, toType, toId, { category: spec.associationCategory as AssociationCategory, typeId, label });
      }
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
      associations.add(fromType, fromId, toType, toId, { category: 'HUBSPOT_DEFINED', typeId, label: null });
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
      for (const target of targets) associations.remove(fromType, fromId, toType, String(target.id ?? ''));
    }
    return reply.code(204).send();
  });
}
