import type { FastifyInstance } from 'fastify';
import type { SandboxCounters } from '../core/counters';
import { notFound, validationError } from './errors';
import { parseBoolean, parseNameList, toPublicObject, withHistory } from './public-object';
import { integrationSource, objectTypeParam } from './request-context';
import type { HubSpotObjectType } from './schema';
import type { PropertyInput, RecordStore, StoredRecord } from './store';

interface ObjectParams {
  type: string;
  id: string;
}

interface ReadQuery {
  properties?: string | string[];
  propertiesWithHistory?: string | string[];
  idProperty?: string;
  archived?: string;
  limit?: string;
  after?: string;
}

interface WriteBody {
  properties?: PropertyInput;
}

const LIST_MAX = 100;

/** Finds a record by id or by a unique `idProperty`, live or archived as asked. */
export function lookup(store: RecordStore, type: HubSpotObjectType, id: string, idProperty: string | undefined, archived = false): StoredRecord | undefined {
  let record: StoredRecord | undefined;
  if (idProperty && idProperty !== 'hs_object_id') {
    if (!store.isUnique(type, idProperty)) throw validationError(`Property "${idProperty}" is not a unique identifier property`);
    record = store.findByUnique(type, idProperty, id);
  } else {
    record = store.get(type, id);
  }
  return record && record.archived === archived ? record : undefined;
}

/** Basic CRUD on `/crm/v3/objects/{type}` [H9]. */
export function registerObjectRoutes(app: FastifyInstance, store: RecordStore, counters: SandboxCounters): void {
  app.post<{ Params: { type: string }; Body: WriteBody | undefined }>('/crm/v3/objects/:type', async (request, reply) => {
    const type = objectTypeParam(request.params.type);
    const input = request.body?.properties ?? {};
    const record = store.create(type, input, integrationSource(request));
    counters.countRecordWrites(type, 1);
    return reply.code(201).send(toPublicObject(record, Object.keys(input)));
  });

  app.get<{ Params: ObjectParams; Querystring: ReadQuery }>('/crm/v3/objects/:type/:id', async (request) => {
    const type = objectTypeParam(request.params.type);
    const { idProperty, archived, properties, propertiesWithHistory } = request.query;
    const record = lookup(store, type, request.params.id, idProperty, parseBoolean(archived));
    if (!record) throw notFound(request.params.id);
    return withHistory(toPublicObject(record, parseNameList(properties)), store, record, parseNameList(propertiesWithHistory));
  });

  app.patch<{ Params: ObjectParams; Querystring: ReadQuery; Body: WriteBody | undefined }>('/crm/v3/objects/:type/:id', async (request) => {
    const type = objectTypeParam(request.params.type);
    const existing = lookup(store, type, request.params.id, request.query.idProperty);
    if (!existing) throw notFound(request.params.id);
    const input = request.body?.properties ?? {};
    const record = store.update(type, existing.id, input, integrationSource(request));
    counters.countRecordWrites(type, 1);
    return toPublicObject(record, Object.keys(input));
  });

  app.delete<{ Params: ObjectParams }>('/crm/v3/objects/:type/:id', async (request, reply) => {
    const type = objectTypeParam(request.params.type);
    if (store.archive(type, request.params.id, integrationSource(request))) counters.countRecordWrites(type, 1);
    return reply.code(204).send();
  });

  app.get<{ Params: { type: string }; Querystring: ReadQuery }>('/crm/v3/objects/:type', async (request) => {
    const type = objectTypeParam(request.params.type);
    const limit = request.query.limit === undefined ? 10 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX) throw validationError(`limit must be between 1 and ${LIST_MAX}`);
    const after = request.query.after === undefined ? 0 : Number(request.query.after);
    if (!Number.isFinite(after)) throw validationError(`Invalid after: ${request.query.after}`);
    const archived = parseBoolean(request.query.archived);
    const properties = parseNameList(request.query.properties);
    const page: StoredRecord[] = [];
    let next: StoredRecord | undefined;
    for (const record of store.all(type)) {
      if (record.archived !== archived || Number(record.id) < after) continue;
      if (page.length === limit) {
        next = record;
        break;
      }
      page.push(record);
    }
    const results = page.map((record) => toPublicObject(record, properties));
    if (!next) return { results };
    const link = `${request.protocol}://${request.host}/crm/v3/objects/${type}?after=${next.id}`;
    return { results, paging: { next: { after: next.id, link } } };
  });
}
