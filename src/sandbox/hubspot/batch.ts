import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxCounters } from '../core/counters';
import { HubSpotError, propertyValidationError, standardError, validationError, type StandardError } from './errors';
import { lookup } from './objects';
import { parseBoolean, parseNameList, toPublicObject, withHistory, type PublicObject } from './public-object';
import { integrationSource, objectTypeParam } from './request-context';
import { SCHEMAS, type HubSpotObjectType } from './schema';
import type { PropertyInput, RecordStore } from './store';

/** SDK DEFAULT_OBJECTS_LIMIT and HubSpot's documented batch size [H9][H10]. */
export const BATCH_MAX = 100;

interface BatchInput {
  id?: string;
  idProperty?: string;
  properties?: PropertyInput;
  objectWriteTraceId?: string;
}

interface BatchBody {
  inputs?: BatchInput[];
  properties?: string[];
  propertiesWithHistory?: string[];
  idProperty?: string;
}

/** Inputs per batch read that asks for property histories (secondary source [H35]). */
const HISTORY_BATCH_MAX = 50;

type BatchError = StandardError;

function inputsOf(body: BatchBody | undefined): BatchInput[] {
  const inputs = body?.inputs;
  if (!Array.isArray(inputs)) throw validationError('Invalid input JSON: "inputs" must be an array');
  // Wording follows HubSpot's property-history variant of this error (50 inputs) [X1].
  if (inputs.length > BATCH_MAX) {
    throw validationError(`The maximum number of inputs supported in a batch request is ${BATCH_MAX}. Please reduce the number of items and try again`);
  }
  return inputs;
}

function assertNoDuplicateIds(inputs: BatchInput[]): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const input of inputs) {
    if (input.id === undefined) continue;
    if (seen.has(input.id)) duplicates.add(input.id);
    seen.add(input.id);
  }
  if (duplicates.size > 0) throw validationError(`Duplicate IDs found in batch input: [${[...duplicates].join(', ')}]. IDs must be unique`);
}

/** Unknown or read-only properties anywhere fail the whole batch, as at HubSpot. */
function assertValid(store: RecordStore, type: HubSpotObjectType, inputs: BatchInput[]): void {
  const issues = inputs.flatMap((input) => store.prepare(type, input.properties ?? {}).issues);
  if (issues.length > 0) throw propertyValidationError(issues);
}

/**
 * A batch update or upsert finds its records by `idProperty` only if that names a property with
 * unique values; anything else, `hs_object_id` included (the record id goes in `id` with no
 * `idProperty`), refuses the whole batch: 400 VALIDATION_ERROR "Unable to perform update/upsert by
 * non-unique 0-2 property hs_object_id in portal ID N" [H48].
 */
function assertUniqueIdProperty(store: RecordStore, type: HubSpotObjectType, inputs: BatchInput[], portalId: number): void {
  for (const { idProperty } of inputs) {
    if (idProperty === undefined) continue;
    if (idProperty === 'hs_object_id' || !store.isUnique(type, idProperty)) {
      throw validationError(`Unable to perform update/upsert by non-unique ${SCHEMAS[type].typeId} property ${idProperty} in portal ID ${portalId}`);
    }
  }
}

function notFoundError(type: HubSpotObjectType, ids: string[]): BatchError {
  return standardError('OBJECT_NOT_FOUND', `Could not get some ${SCHEMAS[type].singular.toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { ids });
}

function sendBatch<T>(reply: FastifyReply, okCode: number, startedAt: Date, results: T[], errors: BatchError[]): FastifyReply {
  const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: startedAt.toISOString(), completedAt: new Date().toISOString() };
  if (errors.length === 0) return reply.code(okCode).send(body);
  return reply.code(207).send({ ...body, numErrors: errors.length, errors });
}

/** `/crm/v3/objects/{type}/batch/{read|create|update|upsert|archive}` [H9]. */
export function registerBatchRoutes(app: FastifyInstance, store: RecordStore, counters: SandboxCounters, portalId: number): void {
  const route = (action: string): string => `/crm/v3/objects/:type/batch/${action}`;
  type Request = { Params: { type: string }; Querystring: { archived?: string }; Body: BatchBody | undefined };

  app.post<Request>(route('read'), async (request, reply) => {
    const startedAt = new Date();
    const type = objectTypeParam(request.params.type);
    const inputs = inputsOf(request.body);
    assertNoDuplicateIds(inputs);
    const properties = parseNameList(request.body?.properties);
    const withHistoryOf = parseNameList(request.body?.propertiesWithHistory);
    if (withHistoryOf && inputs.length > HISTORY_BATCH_MAX) {
      throw validationError(`The maximum number of inputs supported in a batch request for property histories is ${HISTORY_BATCH_MAX}. Please reduce the number of items and try again`);
    }
    const archived = parseBoolean(request.query.archived);
    const results: PublicObject[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const record = lookup(store, type, String(input.id ?? ''), request.body?.idProperty, archived);
      if (record) results.push(withHistory(toPublicObject(record, properties), store, record, withHistoryOf));
      else missing.push(String(input.id ?? ''));
    }
    return sendBatch(reply, 200, startedAt, results, missing.length > 0 ? [notFoundError(type, missing)] : []);
  });

  app.post<Request>(route('create'), async (request, reply) => {
    const startedAt = new Date();
    const type = objectTypeParam(request.params.type);
    const inputs = inputsOf(request.body);
    assertValid(store, type, inputs);
    // All or nothing: one input whose unique value (email) another contact holds refuses the whole
    // batch with the single-create 409, naming the first such contact [H39].
    for (const input of inputs) store.assertCreatable(type, input.properties ?? {});
    const source = integrationSource(request);
    const results = inputs.map((input) => {
      const properties = input.properties ?? {};
      return toPublicObject(store.create(type, properties, source), Object.keys(properties));
    });
    counters.countRecordWrites(type, results.length);
    return sendBatch(reply, 201, startedAt, results, []);
  });

  app.post<Request>(route('update'), async (request, reply) => {
    const startedAt = new Date();
    const type = objectTypeParam(request.params.type);
    const inputs = inputsOf(request.body);
    assertNoDuplicateIds(inputs);
    assertUniqueIdProperty(store, type, inputs, portalId);
    assertValid(store, type, inputs);
    const source = integrationSource(request);
    const results: PublicObject[] = [];
    const missing: string[] = [];
    const errors: BatchError[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const existing = lookup(store, type, id, input.idProperty);
      if (!existing) {
        missing.push(id);
        continue;
      }
      const properties = input.properties ?? {};
      try {
        results.push(toPublicObject(store.update(type, existing.id, properties, source), Object.keys(properties)));
      } catch (error) {
        errors.push(asBatchError(error, id));
      }
    }
    counters.countRecordWrites(type, results.length);
    if (missing.length > 0) errors.unshift(notFoundError(type, missing));
    return sendBatch(reply, 200, startedAt, results, errors);
  });

  app.post<Request>(route('upsert'), async (request, reply) => {
    const startedAt = new Date();
    const type = objectTypeParam(request.params.type);
    const inputs = inputsOf(request.body);
    assertNoDuplicateIds(inputs);
    assertUniqueIdProperty(store, type, inputs, portalId);
    assertValid(store, type, inputs);
    const source = integrationSource(request);
    const results: (PublicObject & { new: boolean })[] = [];
    const errors: BatchError[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const properties = input.properties ?? {};
      const names = Object.keys(properties);
      try {
        const existing = lookup(store, type, id, input.idProperty);
        if (existing) {
          results.push({ ...toPublicObject(store.update(type, existing.id, properties, source), names), new: false });
        } else if (input.idProperty) {
          const created = store.create(type, { ...properties, [input.idProperty]: id }, source);
          results.push({ ...toPublicObject(created, [...names, input.idProperty]), new: true });
        } else {
          errors.push(notFoundError(type, [id]));
        }
      } catch (error) {
        errors.push(asBatchError(error, id));
      }
    }
    counters.countRecordWrites(type, results.length);
    return sendBatch(reply, 200, startedAt, results, errors);
  });

  app.post<Request>(route('archive'), async (request, reply) => {
    const type = objectTypeParam(request.params.type);
    const inputs = inputsOf(request.body);
    const source = integrationSource(request);
    let archived = 0;
    for (const input of inputs) if (store.archive(type, String(input.id ?? ''), source)) archived += 1;
    counters.countRecordWrites(type, archived);
    return reply.code(204).send();
  });
}

/** A per-input failure inside a batch (e.g. a unique-value conflict) becomes one `errors` entry. */
function asBatchError(error: unknown, id: string): BatchError {
  if (!(error instanceof HubSpotError)) throw error;
  const { correlationId: _correlationId, status: _status, category, message, context, errors, ...rest } = error.body;
  return { ...rest, ...standardError(category ?? 'VALIDATION_ERROR', message, { ...(context ?? {}), ids: [id] }, { errors: errors ?? [] }) };
}
