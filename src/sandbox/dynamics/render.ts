import { lookupLogicalName, type EntitySetDefinition } from './entity-sets';
import type { Row } from './store';

/** The Web API's JSON content type for entity payloads. */
export const JSON_CONTENT_TYPE = 'application/json; odata.metadata=minimal';

export function etagOf(row: Row): string {
  return `W/"${String(row.versionnumber)}"`;
}

/**
 * Dataverse returns date-times to the second (`2024-05-01T10:20:30Z`) although it stores them
 * more finely, so "modifiedon gt <last seen>" can return rows again: connectors must be
 * idempotent, and the sandbox keeps that real behaviour.
 */
export function renderDateTime(value: unknown): unknown {
  return typeof value === 'string' ? `${value.slice(0, 19)}Z` : value;
}

/**
 * One row as JSON. With `lookupNames` (the caller's `odata.include-annotations`), each lookup with
 * a value also carries `<column>@Microsoft.Dynamics.CRM.lookuplogicalname`, the table it points at:
 * the only way a client tells an account from an opportunity in a polymorphic lookup [D32].
 */
export function renderRow(row: Row, definition: EntitySetDefinition, select: string[] | undefined, lookupNames = false): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': etagOf(row) };
  const columns = select ?? Object.keys(definition.columns);
  for (const column of columns) {
    const value = row[column] ?? null;
    if (lookupNames && value !== null && /^_.+_value$/.test(column)) {
      const target = lookupLogicalName(definition, row, column);
      if (target !== undefined) out[`${column}@Microsoft.Dynamics.CRM.lookuplogicalname`] = target;
    }
    const spec = definition.columns[column];
    out[column] = spec?.writeOnly ? null : spec?.type === 'datetime' ? renderDateTime(value) : value;
  }
  out[definition.primaryId] = row[definition.primaryId];
  return out;
}

export function contextUrl(serviceRoot: string, definition: EntitySetDefinition, select: string[] | undefined, suffix = ''): string {
  const projection = select ? `(${select.join(',')})` : '';
  return `${serviceRoot}/$metadata#${definition.setName}${projection}${suffix}`;
}

export function entityUrl(serviceRoot: string, definition: EntitySetDefinition, id: string): string {
  return `${serviceRoot}/${definition.setName}(${id})`;
}

/** One Web API answer, independent of transport: sent as HTTP, or rendered into a $batch part. */
export interface ODataResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}
