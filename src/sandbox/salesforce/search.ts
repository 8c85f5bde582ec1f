import type { FastifyInstance, FastifyRequest } from 'fastify';
import { majorVersion, requestVersion, type SalesforceContext } from './context';
import { SalesforceApiError } from './errors';
import { readField, toApiRecord, type StoredRecord } from './records';
import { isSearchable, SOBJECT_TYPES, type SObjectDef } from './schema';
import { compileSoql, runQuery, type BoundQuery } from './soql-exec';
import { matchesSearch, parseSosl, tokenize, type SearchGroup, type SoslSearch } from './sosl';

/** Fields each search group looks in; ALL is every text field [S48]. */
function searchedFields(def: SObjectDef, group: SearchGroup): string[] {
  const text = [...def.fields.values()].filter((field) => field.type === 'string' || field.type === 'email');
  if (group === 'EMAIL') return text.filter((field) => field.type === 'email').map((field) => field.name);
  if (group === 'PHONE') return text.filter((field) => /Phone$/.test(field.name)).map((field) => field.name);
  if (group === 'NAME') return text.filter((field) => ['Name', 'FirstName', 'LastName', 'Subject'].includes(field.name)).map((field) => field.name);
  return text.map((field) => field.name);
}

/**
 * `GET /search?q=` runs a SOSL search [S48][S49]: records of the RETURNING objects (every object,
 * Ids only, without the clause) whose searched fields hold every term of an alternative, with the
 * object's own WHERE / ORDER BY / LIMIT applied as SOQL, then the overall LIMIT (<= 2,000). From
 * API 37.0 the answer is `{searchRecords: [...]}`, before it a bare array [S49]. Salesforce ranks
 * by relevance; the sandbox keeps RETURNING order, then each object's ORDER BY or creation order.
 */
export function registerSearchRoute(app: FastifyInstance, context: SalesforceContext): void {
  const { store } = context;

  const run = async (request: FastifyRequest<{ Querystring: { q?: string } }>) => {
    const sosl = request.query.q;
    if (!sosl) throw new SalesforceApiError(400, 'MALFORMED_SEARCH', 'No search term found. The search term must be enclosed in braces.');
    const search = parseSosl(sosl);
    const specs = search.returning ?? SOBJECT_TYPES.filter(isSearchable).map((type) => ({ type, fields: 'Id', clauses: '' }));
    const queries = specs.map((spec) => bind(`SELECT ${spec.fields} FROM ${spec.type} ${spec.clauses}`.trim(), context, search));
    const version = requestVersion(request);
    const rows: Record<string, unknown>[] = [];
    for (const query of queries) {
      for (const record of runQuery(query, store, false)) rows.push(toApiRecord(record, query.fields, version));
    }
    const searchRecords = rows.slice(0, search.limit);
    return majorVersion(version) >= 37 ? { searchRecords } : searchRecords;
  };
  app.get('/services/data/:version/search', run);
  app.get('/services/data/:version/search/', run);
}

/** The RETURNING object as a SOQL query narrowed to the records the terms find. */
function bind(soql: string, context: SalesforceContext, search: SoslSearch): BoundQuery {
  let query: BoundQuery;
  try {
    query = compileSoql(soql, context.store);
  } catch (error) {
    // Field and type errors keep their SOQL code; the message is the reason, without the SOQL caret.
    if (error instanceof SalesforceApiError) throw new SalesforceApiError(error.statusCode, error.errorCode, error.message.split('\n').pop() ?? error.message);
    throw error;
  }
  if (query.count) throw new SalesforceApiError(400, 'MALFORMED_SEARCH', 'COUNT() is not allowed in RETURNING');
  const fields = searchedFields(context.store.def(query.type), search.group);
  const found = (record: StoredRecord) =>
    matchesSearch(
      search,
      fields.map((field) => tokenize(String(readField(record, field) ?? ''))),
    );
  const where = query.matches;
  return { ...query, matches: (record) => where(record) && found(record) };
}
