import type { FastifyInstance } from 'fastify';
import { apiOrigin, pathType, requestVersion, type SalesforceContext } from './context';
import { RecordFailure, SalesforceApiError, show, type RecordError } from './errors';
import { toId18 } from './ids';
import { toApiRecord } from './records';
import { resolveTypeName, type SObjectType } from './schema';
import { ChangeBatch } from './store';
import { planUpsert } from './upsert';
import { normaliseInput } from './write-input';

const MAX_RECORDS = 200;
const BASE = '/services/data/:version/composite/sobjects';

interface CollectionBody {
  allOrNone?: boolean;
  records?: Record<string, unknown>[];
}

interface ItemResult {
  id?: string;
  success: boolean;
  errors: RecordError[];
  created?: boolean;
}

type Plan = { ok: true; apply: (batch: ChangeBatch) => ItemResult } | { ok: false; result: ItemResult };

const ROLLED_BACK: RecordError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

/**
 * sObject Collections [S16]: up to 200 records per call, results in request order. Every record
 * is validated before any is written, so allOrNone can refuse the lot without partial writes.
 */
export function registerCompositeRoutes(app: FastifyInstance, context: SalesforceContext): void {
  const { store } = context;

  const run = (origin: ChangeBatch, allOrNone: boolean, plans: Plan[]): ItemResult[] => {
    if (allOrNone && plans.some((plan) => !plan.ok)) {
      return plans.map((plan) => (plan.ok ? { success: false, errors: [ROLLED_BACK] } : plan.result));
    }
    try {
      return plans.map((plan) => (plan.ok ? plan.apply(origin) : plan.result));
    } finally {
      store.commit(origin);
    }
  };

  app.post<{ Body: CollectionBody | undefined }>(BASE, async (request) => {
    const { records, allOrNone } = collection(request.body);
    const batch = new ChangeBatch(apiOrigin(context, request));
    const plans = records.map((input): Plan =>
      attempt(undefined, () => {
        const type = recordType(input);
        const def = store.def(type);
        const values = normaliseInput(def, input);
        store.applyDefaults(def, values);
        store.checkWrite(def, values, true);
        return (b) => ({ id: store.insertValidated(type, values, b).id, success: true, errors: [] });
      }),
    );
    return run(batch, allOrNone, plans);
  });

  app.patch<{ Body: CollectionBody | undefined }>(BASE, async (request) => {
    const { records, allOrNone } = collection(request.body);
    const batch = new ChangeBatch(apiOrigin(context, request));
    const plans = records.map((input): Plan => {
      const { id: rawId, ...rest } = input;
      const id = typeof rawId === 'string' ? toId18(rawId) : undefined;
      return attempt(id, () => {
        if (!id) throw new RecordFailure({ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] });
        const type = recordType(input);
        const record = store.live(type, id);
        const values = normaliseInput(store.def(type), rest);
        store.checkWrite(store.def(type), values, false, record);
        return (b) => ({ id: store.updateValidated(record, values, b).id, success: true, errors: [] });
      });
    });
    return run(batch, allOrNone, plans);
  });

  app.delete<{ Querystring: { ids?: string; allOrNone?: string } }>(BASE, async (request) => {
    const ids = (request.query.ids ?? '').split(',').filter(Boolean).map(toId18);
    if (ids.length > MAX_RECORDS) throw tooMany();
    const batch = new ChangeBatch(apiOrigin(context, request));
    const plans = ids.map((id): Plan =>
      attempt(id, () => {
        const type = typeOfId(context, id);
        store.live(type, id);
        return (b) => ({ id: store.delete(type, id, b).id, success: true, errors: [] });
      }),
    );
    return run(batch, request.query.allOrNone === 'true', plans);
  });

  app.patch<{ Params: { type: string; field: string }; Body: CollectionBody | undefined }>(`${BASE}/:type/:field`, async (request) => {
    const type = pathType(request.params.type);
    const field = store.externalIdField(type, request.params.field);
    if (!field) throw new SalesforceApiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${request.params.field}`);
    const { records, allOrNone } = collection(request.body);
    const batch = new ChangeBatch(apiOrigin(context, request));
    const seen = new Map<string, number>();
    for (const input of records) {
      const value = externalValue(input, field);
      if (value !== undefined) seen.set(value.toLowerCase(), (seen.get(value.toLowerCase()) ?? 0) + 1);
    }
    const plans = records.map((input): Plan =>
      attempt(undefined, () => {
        if (recordType(input) !== type) throw new RecordFailure({ statusCode: 'INVALID_TYPE', message: `Record type must be ${type}`, fields: [] });
        const value = externalValue(input, field);
        if (value === undefined) throw new RecordFailure({ statusCode: 'MISSING_ARGUMENT', message: `${field} not specified`, fields: [field] });
        if ((seen.get(value.toLowerCase()) ?? 0) > 1) {
          throw new RecordFailure({ statusCode: 'DUPLICATE_VALUE', message: `Duplicate external id specified: ${value}`, fields: [field] });
        }
        const body = Object.fromEntries(Object.entries(input).filter(([key]) => key.toLowerCase() !== field.toLowerCase()));
        const plan = planUpsert(store, type, field, value, normaliseInput(store.def(type), body));
        return (b) => {
          const { record, created } = plan.apply(b);
          return { id: record.id, success: true, errors: [], created };
        };
      }),
    );
    return run(batch, allOrNone, plans);
  });

  const retrieve = (type: SObjectType, ids: string[], fields: string[], version: string): (Record<string, unknown> | null)[] => {
    if (ids.length > 2000) throw new SalesforceApiError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 2000 records into this call');
    const def = store.def(type);
    const resolved = fields.map((name) => {
      const canonical = def.byLowerName.get(name.toLowerCase());
      if (!canonical) throw new SalesforceApiError(400, 'INVALID_FIELD', `No such column '${name}' on entity '${type}'.`);
      return canonical;
    });
    return ids.map((id) => {
      const record = store.get(type, toId18(id));
      return record && record.deletedMs === undefined ? toApiRecord(record, ['Id', ...resolved.filter((f) => f !== 'Id')], version) : null;
    });
  };

  app.post<{ Params: { type: string }; Body: { ids?: string[]; fields?: string[] } | undefined }>(`${BASE}/:type`, async (request) => {
    const type = pathType(request.params.type);
    return retrieve(type, request.body?.ids ?? [], request.body?.fields ?? [], requestVersion(request));
  });

  app.get<{ Params: { type: string }; Querystring: { ids?: string; fields?: string } }>(`${BASE}/:type`, async (request) => {
    const type = pathType(request.params.type);
    const split = (text: string | undefined) => (text ?? '').split(',').filter(Boolean);
    return retrieve(type, split(request.query.ids), split(request.query.fields), requestVersion(request));
  });
}

function attempt(id: string | undefined, plan: () => (batch: ChangeBatch) => ItemResult): Plan {
  try {
    return { ok: true, apply: plan() };
  } catch (error) {
    if (!(error instanceof RecordFailure)) throw error;
    return { ok: false, result: { ...(id ? { id } : {}), success: false, errors: [error.error] } };
  }
}

function collection(body: CollectionBody | undefined): { records: Record<string, unknown>[]; allOrNone: boolean } {
  if (!body || !Array.isArray(body.records)) {
    throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object with a records array');
  }
  if (body.records.length > MAX_RECORDS) throw tooMany();
  return { records: body.records, allOrNone: body.allOrNone === true };
}

const tooMany = () => new SalesforceApiError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_RECORDS} records into this call`);

function recordType(input: Record<string, unknown>): SObjectType {
  const attributes = input.attributes as { type?: unknown } | undefined;
  const type = typeof attributes?.type === 'string' ? resolveTypeName(attributes.type) : undefined;
  if (!type) throw new RecordFailure({ statusCode: 'INVALID_TYPE', message: 'No SObject Type defined in record', fields: [] });
  return type;
}

function externalValue(input: Record<string, unknown>, field: string): string | undefined {
  const key = Object.keys(input).find((name) => name.toLowerCase() === field.toLowerCase());
  const value = key === undefined ? undefined : input[key];
  return value === undefined || value === null || value === '' ? undefined : show(value);
}

function typeOfId(context: SalesforceContext, id: string): SObjectType {
  for (const type of context.store.types()) if (id.startsWith(context.store.def(type).keyPrefix)) return type;
  throw new RecordFailure({ statusCode: 'MALFORMED_ID', message: `malformed id ${id}`, fields: [] });
}
