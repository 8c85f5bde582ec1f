import type { EntitySetDefinition } from './entity-sets';
import { badQuery } from './errors';
import { compareValues, sortValue, type OrderBy } from './odata-query';
import type { Row } from './store';

/**
 * The `$skiptoken` paging cookie, in the shape Dataverse puts in `@odata.nextLink` [D10]:
 * `<cookie pagenumber="2" pagingcookie="%3ccookie page=..." istracking="False" />`. The inner
 * cookie carries the last row's sort values, so the next page continues after that row
 * (keyset paging), not at an offset: rows written between pages are not skipped.
 */
export interface PageCursor {
  pageNumber: number;
  /** The last row's value for each $orderby column, then the primary id. */
  last: (string | number | boolean | null)[];
  tracking: boolean;
  /** In change-tracking mode: the row version the final page's deltaLink will carry. */
  deltaVersion?: number;
}

function attribute(value: string | number | boolean | null): string {
  return value === null ? '' : ` last="${encodeURIComponent(String(value))}"`;
}

export function encodeSkipToken(cursor: PageCursor, definition: EntitySetDefinition, orderBy: OrderBy[]): string {
  const columns = [...orderBy.map((order) => order.column), definition.primaryId];
  const elements = columns.map((column, index) => {
    const value = cursor.last[index] ?? null;
    const shown = column === definition.primaryId && typeof value === 'string' ? `{${value.toUpperCase()}}` : value;
    return `<${column}${attribute(shown)} />`;
  });
  const version = cursor.deltaVersion === undefined ? '' : ` deltaversion="${cursor.deltaVersion}"`;
  const inner = `<cookie page="${cursor.pageNumber - 1}"${version}>${elements.join('')}</cookie>`;
  return `<cookie pagenumber="${cursor.pageNumber}" pagingcookie="${encodeURIComponent(encodeURIComponent(inner))}" istracking="${cursor.tracking ? 'True' : 'False'}" />`;
}

export function decodeSkipToken(token: string, definition: EntitySetDefinition, orderBy: OrderBy[]): PageCursor {
  const outer = /^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)" istracking="(True|False)" \/>$/.exec(token);
  if (!outer) throw badQuery('Invalid paging cookie. The $skiptoken must be the value returned in @odata.nextLink.');
  const inner = decodeURIComponent(decodeURIComponent(outer[2] as string));
  const columns = [...orderBy.map((order) => order.column), definition.primaryId];
  const last = columns.map((column) => {
    const match = new RegExp(`<${column}(?: last="([^"]*)")? />`).exec(inner);
    if (!match) throw badQuery('Invalid paging cookie. The $skiptoken must be the value returned in @odata.nextLink.');
    if (match[1] === undefined) return null;
    const raw = decodeURIComponent(match[1]);
    if (column === definition.primaryId) return raw.replace(/[{}]/g, '').toLowerCase();
    const type = definition.columns[column]?.type;
    if (type === 'number' || type === 'datetime') return Number(raw);
    if (type === 'boolean') return raw === 'true';
    return raw;
  });
  const version = /deltaversion="(\d+)"/.exec(inner);
  return {
    pageNumber: Number(outer[1]),
    last,
    tracking: outer[3] === 'True',
    ...(version ? { deltaVersion: Number(version[1]) } : {}),
  };
}

export function sortKey(row: Row, definition: EntitySetDefinition, orderBy: OrderBy[]): (string | number | boolean | null)[] {
  return [...orderBy.map((order) => sortValue(row, order.column, definition)), row[definition.primaryId] as string];
}

/** Compares sort keys under the $orderby directions; the primary id breaks ties ascending. */
export function compareKeys(a: (string | number | boolean | null)[], b: (string | number | boolean | null)[], orderBy: OrderBy[]): number {
  for (let i = 0; i < a.length; i += 1) {
    const order = compareValues(a[i] ?? null, b[i] ?? null);
    if (order !== 0) return orderBy[i]?.descending ? -order : order;
  }
  return 0;
}
