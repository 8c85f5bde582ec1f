import type { FastifyInstance } from 'fastify';
import { checkUnmodifiedSince } from './conditional';
import { apiOrigin, parseVersion, pathType, type SalesforceContext } from './context';
import { SalesforceApiError, type SfErrorBody } from './errors';
import { toId18 } from './ids';
import { allFieldNames, toApiRecord } from './records';
import { ChangeBatch } from './store';
import { toApiError } from './upsert';
import { normaliseInput } from './write-input';

/**
 * The Composite resource [S46]: up to 25 subrequests in one call, which counts as one API request;
 * each answers its own status, headers and body. Subrequests may carry their own headers, except
 * Accept, Authorization and Content-Type, which they inherit. Emulated for the sObject Rows
 * subrequests (GET, PATCH with `If-Unmodified-Since`, DELETE) and record creation (POST); other
 * resources and `@{reference}` expressions are answered 400 naming the gap (README). With
 * `allOrNone`, every subrequest is validated before any is carried out, so a refusal leaves
 * nothing written; without it, each is validated and carried out in turn.
 */
export function registerCompositeRequestRoute(app: FastifyInstance, context: SalesforceContext): void {
  const { store } = context;

  app.post<{ Body: CompositeBody | undefined }>('/services/data/:version/composite', async (request) => {
    const { subrequests, allOrNone } = parseBody(request.body);
    const batch = new ChangeBatch(apiOrigin(context, request));
    const run = (entry: Plan, subrequest: Subrequest): SubrequestResult => (entry.ok ? carryOut(entry.apply, batch, subrequest.referenceId) : entry.result);
    try {
      if (!allOrNone) return { compositeResponse: subrequests.map((subrequest) => run(plan(context, subrequest), subrequest)) };
      // All or none: every subrequest is validated before any is carried out.
      const plans = subrequests.map((subrequest) => plan(context, subrequest));
      const refused = plans.some((entry) => !entry.ok);
      return { compositeResponse: plans.map((entry, index) => (refused && entry.ok ? halted(subrequests[index] as Subrequest) : run(entry, subrequests[index] as Subrequest))) };
    } finally {
      store.commit(batch);
    }
  });
}

interface CompositeBody {
  allOrNone?: unknown;
  collateSubrequests?: unknown;
  compositeRequest?: unknown;
}

interface Subrequest {
  method: 'GET' | 'PATCH' | 'POST' | 'DELETE';
  url: string;
  referenceId: string;
  body?: Record<string, unknown> | undefined;
  httpHeaders: Record<string, string>;
}

interface SubrequestResult {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

type Plan = { ok: true; apply: (batch: ChangeBatch) => SubrequestResult } | { ok: false; result: SubrequestResult };

const MAX_SUBREQUESTS = 25;
const INHERITED_HEADERS = new Set(['accept', 'authorization', 'content-type']);
const ROW = /^\/services\/data\/(v\d{2}\.0)\/sobjects\/([A-Za-z0-9_]+)(?:\/([A-Za-z0-9]{15}|[A-Za-z0-9]{18}))?\/?$/;

function parseBody(body: CompositeBody | undefined): { subrequests: Subrequest[]; allOrNone: boolean } {
  const requests = body?.compositeRequest;
  if (!Array.isArray(requests) || requests.length === 0) throw invalid('compositeRequest: a non-empty array of subrequests is required');
  if (requests.length > MAX_SUBREQUESTS) throw invalid(`compositeRequest: at most ${MAX_SUBREQUESTS} subrequests per call, got ${requests.length}`);
  const seen = new Set<string>();
  const subrequests = requests.map((raw: unknown, index): Subrequest => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const { method, url, referenceId } = item;
    if (method !== 'GET' && method !== 'PATCH' && method !== 'POST' && method !== 'DELETE') throw invalid(`compositeRequest[${index}].method: one of GET, PATCH, POST, DELETE`);
    if (typeof url !== 'string' || url === '') throw invalid(`compositeRequest[${index}].url is required`);
    if (typeof referenceId !== 'string' || !/^[A-Za-z0-9_]+$/.test(referenceId)) throw invalid(`compositeRequest[${index}].referenceId: letters, digits and underscores`);
    if (seen.has(referenceId)) throw invalid(`Duplicate referenceId provided in the request: ${referenceId}`);
    seen.add(referenceId);
    const headers = (item.httpHeaders ?? {}) as Record<string, unknown>;
    for (const name of Object.keys(headers)) if (INHERITED_HEADERS.has(name.toLowerCase())) throw invalid(`compositeRequest[${index}].httpHeaders: ${name} is inherited from the composite request and cannot be set on a subrequest`);
    if (url.includes('@{') || JSON.stringify(item.body ?? null).includes('@{')) throw invalid(`compositeRequest[${index}]: references between subrequests (@{...}) are not emulated by this sandbox`);
    return {
      method,
      url,
      referenceId,
      body: item.body === undefined ? undefined : (item.body as Record<string, unknown>),
      httpHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)])),
    };
  });
  return { subrequests, allOrNone: body?.allOrNone === true };
}

/** Validates a subrequest and returns what carries it out; its failure is its own result, never the call's. */
function plan(context: SalesforceContext, subrequest: Subrequest): Plan {
  const { store } = context;
  const { method, referenceId } = subrequest;
  try {
    const row = ROW.exec(subrequest.url.split('?')[0] ?? '');
    const version = parseVersion(row?.[1]);
    if (!row || !version) throw invalid(`${method} ${subrequest.url}: only sObject Rows and sObject create subrequests are emulated by this sandbox`);
    const type = pathType(row[2] as string);
    const id = row[3] === undefined ? undefined : toId18(row[3]);
    const def = store.def(type);
    if (method === 'POST' && id === undefined) {
      const values = normaliseInput(def, subrequest.body ?? {});
      store.applyDefaults(def, values);
      store.checkWrite(def, values, true);
      return { ok: true, apply: (batch) => ({ body: { id: store.insertValidated(type, values, batch).id, success: true, errors: [] }, httpHeaders: {}, httpStatusCode: 201, referenceId }) };
    }
    if (id === undefined || method === 'POST') throw invalid(`${method} ${subrequest.url}: not an sObject Rows request`);
    const record = store.live(type, id);
    if (method === 'GET') return { ok: true, apply: () => ({ body: toApiRecord(record, allFieldNames(def), version), httpHeaders: {}, httpStatusCode: 200, referenceId }) };
    if (method === 'DELETE') return { ok: true, apply: (batch) => (store.delete(type, id, batch), { body: null, httpHeaders: {}, httpStatusCode: 204, referenceId }) };
    checkUnmodifiedSince(subrequest.httpHeaders['if-unmodified-since'], record);
    const values = normaliseInput(def, subrequest.body ?? {});
    store.checkWrite(def, values, false, record);
    return { ok: true, apply: (batch) => (store.updateValidated(record, values, batch), { body: null, httpHeaders: {}, httpStatusCode: 204, referenceId }) };
  } catch (error) {
    return { ok: false, result: failure(error, referenceId) };
  }
}

function carryOut(apply: (batch: ChangeBatch) => SubrequestResult, batch: ChangeBatch, referenceId: string): SubrequestResult {
  try {
    return apply(batch);
  } catch (error) {
    return failure(error, referenceId);
  }
}

function failure(error: unknown, referenceId: string): SubrequestResult {
  const apiError = toApiError(error);
  if (!(apiError instanceof SalesforceApiError)) throw apiError;
  return { body: apiError.body() satisfies SfErrorBody[], httpHeaders: {}, httpStatusCode: apiError.statusCode, referenceId };
}

/** allOrNone: the subrequests that would have succeeded are rolled back with the others. */
function halted(subrequest: Subrequest): SubrequestResult {
  return {
    body: [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }],
    httpHeaders: {},
    httpStatusCode: 400,
    referenceId: subrequest.referenceId,
  };
}

const invalid = (message: string): SalesforceApiError => new SalesforceApiError(400, 'INVALID_REQUEST', message);
