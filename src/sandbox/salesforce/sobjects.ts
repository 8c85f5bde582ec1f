import type { FastifyInstance } from 'fastify';
import { checkUnmodifiedSince } from './conditional';
import { apiOrigin, majorVersion, pathType, requestVersion, type SalesforceContext } from './context';
import { SalesforceApiError } from './errors';
import { toId18 } from './ids';
import { allFieldNames, recordUrl, toApiRecord } from './records';
import { resolveFieldName, SYSTEM_FIELDS, type FieldDef, type FieldType, type SObjectType } from './schema';
import { ChangeBatch } from './store';
import { planUpsert, toApiError } from './upsert';
import { normaliseInput } from './write-input';

type Body = Record<string, unknown> | undefined;
const BASE = '/services/data/:version/sobjects';

/** Single-record REST resources: create, read, update, delete, upsert by external id. */
export function registerSObjectRoutes(app: FastifyInstance, context: SalesforceContext): void {
  const { store } = context;

  /** Runs one write as one transaction and turns per-record failures into REST errors. */
  const write = <T>(batch: ChangeBatch, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw toApiError(error);
    } finally {
      store.commit(batch);
    }
  };

  app.get(BASE, async () => ({
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: [...context.store.types()].map((type) => ({ name: type, label: type, keyPrefix: store.def(type).keyPrefix, queryable: true, createable: true, updateable: true, deletable: true, custom: false })),
  }));

  app.get<{ Params: { type: string } }>(`${BASE}/:type/describe`, async (request) => {
    const def = store.def(pathType(request.params.type));
    return {
      name: def.name,
      keyPrefix: def.keyPrefix,
      fields: [...def.fields.values()].map((field) => describeField(field)),
    };
  });

  app.post<{ Params: { type: string }; Body: Body }>(`${BASE}/:type`, async (request, reply) => {
    const type = pathType(request.params.type);
    const batch = new ChangeBatch(apiOrigin(context, request));
    const record = write(batch, () => store.create(type, request.body ?? {}, batch));
    return reply.code(201).send({ id: record.id, success: true, errors: [] });
  });

  app.get<{ Params: { type: string; id: string }; Querystring: { fields?: string } }>(`${BASE}/:type/:id`, async (request) => {
    const type = pathType(request.params.type);
    const record = store.get(type, toId18(request.params.id));
    if (!record || record.deletedMs !== undefined) throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return toApiRecord(record, selectFields(context, type, request.query.fields), requestVersion(request));
  });

  app.patch<{ Params: { type: string; id: string }; Body: Body }>(`${BASE}/:type/:id`, async (request, reply) => {
    const type = pathType(request.params.type);
    const id = toId18(request.params.id);
    const batch = new ChangeBatch(apiOrigin(context, request));
    write(batch, () => {
      checkUnmodifiedSince(request.headers['if-unmodified-since'], store.live(type, id));
      return store.update(type, id, request.body ?? {}, batch);
    });
    return reply.code(204).send();
  });

  app.delete<{ Params: { type: string; id: string } }>(`${BASE}/:type/:id`, async (request, reply) => {
    const type = pathType(request.params.type);
    const batch = new ChangeBatch(apiOrigin(context, request));
    write(batch, () => store.delete(type, toId18(request.params.id), batch));
    return reply.code(204).send();
  });

  app.get<{ Params: { type: string; field: string; value: string }; Querystring: { fields?: string } }>(`${BASE}/:type/:field/:value`, async (request) => {
    const type = pathType(request.params.type);
    // describe's sub-resources (layouts, compactLayouts, approvalLayouts) are not emulated: not an external id lookup.
    if (request.params.field === 'describe') throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const field = externalIdField(context, type, request.params.field);
    const match = store.matchExternalId(type, field, request.params.value);
    const version = requestVersion(request);
    if (match.kind === 'none') throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (match.kind === 'many') throw new MultipleChoices(match.ids.map((id) => recordUrl(version, type, id)));
    return toApiRecord(match.record, selectFields(context, type, request.query.fields), version);
  });

  app.patch<{ Params: { type: string; field: string; value: string }; Body: Body; Querystring: { updateOnly?: string } }>(
    `${BASE}/:type/:field/:value`,
    async (request, reply) => {
      const type = pathType(request.params.type);
      const field = externalIdField(context, type, request.params.field);
      const { value } = request.params;
      const version = requestVersion(request);
      const body = request.body ?? {};
      if (Object.keys(body).some((key) => key.toLowerCase() === field.toLowerCase())) {
        // [S15]: the value comes from the URL only.
        throw new SalesforceApiError(400, 'INVALID_FIELD', `Unable to create/update fields: ${field}. The external ID value must be given in the URL, not in the body.`, [field]);
      }
      const match = store.matchExternalId(type, field, value);
      if (match.kind === 'many') throw new MultipleChoices(match.ids.map((id) => recordUrl(version, type, id)));
      const batch = new ChangeBatch(apiOrigin(context, request));
      const { record, created } = write(batch, () => {
        const values = normaliseInput(store.def(type), body);
        return planUpsert(store, type, field, value, values, request.query.updateOnly === 'true').apply(batch);
      });
      if (created) return reply.code(201).send({ id: record.id, success: true, errors: [], created: true });
      // Before API 46.0 an update answered 204 with no body [S12].
      if (majorVersion(version) < 46) return reply.code(204).send();
      return reply.code(200).send({ id: record.id, success: true, errors: [], created: false });
    },
  );
}

/**
 * One field as describe shows it [S55]: `length` for text (0 otherwise), `nillable` false for a
 * required field (and for booleans, which default), `defaultedOnCreate` where the org fills a
 * value, `calculated` for formula fields (never writable), `picklistValues` with
 * `restrictedPicklist` for picklists. A field is required on create when it is createable, not
 * nillable and not defaulted.
 */
function describeField(field: FieldDef): Record<string, unknown> {
  const formula = !field.writable && !SYSTEM_FIELDS.some((system) => system.name === field.name);
  return {
    name: field.name,
    label: field.label ?? field.name,
    type: field.describeType ?? describeTypes[field.type],
    length: field.length ?? 0,
    createable: field.writable,
    updateable: field.writable && field.createOnly !== true,
    nillable: !field.requiredOnCreate && field.type !== 'boolean' && field.name !== 'Id',
    defaultedOnCreate: field.defaultValue !== undefined || field.type === 'boolean' || field.name === 'OwnerId' || (!field.writable && !formula),
    calculated: formula,
    externalId: field.externalId === true,
    custom: field.name.endsWith('__c'),
    restrictedPicklist: field.picklist?.restricted ?? false,
    picklistValues: (field.picklist?.values ?? []).map((value) => ({ active: true, defaultValue: value === field.defaultValue, label: value, validFor: null, value })),
  };
}

const describeTypes: Record<FieldType, string> = { id: 'id', string: 'string', email: 'email', boolean: 'boolean', number: 'double', date: 'date', datetime: 'datetime', reference: 'reference' };

/** 300 Multiple Choices: the body lists the matching records' URLs. */
export class MultipleChoices extends Error {
  constructor(readonly urls: string[]) {
    super('Multiple records found');
  }
}

function externalIdField(context: SalesforceContext, type: SObjectType, field: string): string {
  const resolved = context.store.externalIdField(type, field);
  if (!resolved) throw new SalesforceApiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`);
  return resolved;
}

function selectFields(context: SalesforceContext, type: SObjectType, fields: string | undefined): string[] {
  const def = context.store.def(type);
  if (!fields) return allFieldNames(def);
  return fields.split(',').map((name) => {
    const resolved = resolveFieldName(def, name.trim());
    if (!resolved) throw new SalesforceApiError(400, 'INVALID_FIELD', `No such column '${name.trim()}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
    return resolved;
  });
}
