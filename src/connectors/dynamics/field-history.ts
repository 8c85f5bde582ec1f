import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsOf, type CompiledMapping } from '../../model/mapping';
import type { FieldEditTimesRequest } from '../connector';
import { ConnectorError } from '../errors';
import { mapLimited } from '../map-limited';
import type { DataverseHttp } from './http';
import type { DynamicsSpec } from './spec';

/** An audit row as `GET audits?$select=auditid,createdon,operation` lists it [D82]. */
interface AuditRow {
  auditid: string;
  createdon: string;
  /** 1 Create, 2 Update, 3 Delete [D82]. */
  operation: number;
}

/** `RetrieveAuditDetails`'s answer for a data change: the changed columns' old and new values [D84]. */
interface AuditDetailsAnswer {
  AuditDetail?: { '@odata.type'?: string; OldValue?: Record<string, unknown> | null; NewValue?: Record<string, unknown> | null };
}

/** Objects read here through their table's audit rows (activities span four tables and are left out). */
const AUDITED_OBJECTS: ReadonlySet<ObjectType> = new Set(['contact', 'company', 'deal']);

/** Update entries read per record, newest first: a field changed before them keeps the record stamp. */
const MAX_DETAIL_READS = 20;

/** The column names an AttributeAuditDetail names (its annotations and `@odata.type` left out). */
export function changedColumnsOf(answer: AuditDetailsAnswer): Set<string> {
  const detail = answer.AuditDetail;
  const columns = new Set<string>();
  if (detail?.['@odata.type'] !== '#Microsoft.Dynamics.CRM.AttributeAuditDetail') return columns;
  for (const values of [detail.OldValue, detail.NewValue]) {
    for (const key of Object.keys(values ?? {})) if (!key.includes('@')) columns.add(key);
  }
  return columns;
}

/**
 * Dataverse stamps a record (`modifiedon`) on every write, whichever columns it changed: a
 * value untouched since the record was created reads under the stamp of a later edit of another
 * column. Where the organisation audits, each create and update leaves an audit row stamped with
 * its time, and the row's details name the columns it changed [D82][D84]. The Web API's
 * RetrieveRecordChangeHistory names the columns but not the times [D85], so the rows are listed
 * from the audit table (one call per record) and read, newest first, one RetrieveAuditDetails call
 * per update until every asked column is named (or MAX_DETAIL_READS): a column's time is its latest
 * update's; a column no update names since the Create row, the Create row's. Without a Create row
 * (auditing off [D86], or switched on after the record was made) the unnamed columns are left to
 * the record stamp; with no audit rows at all, nothing is returned. A caller without the audit
 * privileges [D87] gets the record stamp too.
 */
export async function fieldEditTimes(
  ctx: { http: DataverseHttp; spec: DynamicsSpec; mapping: CompiledMapping },
  objectType: ObjectType,
  requests: readonly FieldEditTimesRequest[],
): Promise<Map<string, Record<string, string>>> {
  const times = new Map<string, Record<string, string>>();
  if (!AUDITED_OBJECTS.has(objectType)) return times;
  await mapLimited(requests, 4, async (request) => {
    const natives = nativeFieldsOf(ctx.mapping, objectType, request.fields);
    if (natives.size === 0 || !GUID.test(request.externalId)) return;
    const found = await readAuditTimes(ctx.http, request.externalId, new Set(natives.values()));
    if (found === undefined) return;
    const fieldTimes: Record<string, string> = {};
    for (const [path, native] of natives) {
      const time = found.get(native);
      if (time !== undefined) fieldTimes[path] = time;
    }
    times.set(request.externalId, fieldTimes);
  });
  return times;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Column -> ISO time of its last change; undefined when the record has no audit rows to read. */
async function readAuditTimes(http: DataverseHttp, recordId: string, columns: ReadonlySet<string>): Promise<Map<string, string> | undefined> {
  let rows: AuditRow[];
  try {
    // Audit table: https://learn.microsoft.com/power-apps/developer/data-platform/auditing/retrieve-audit-data [D82]
    const query = `audits?$select=auditid,createdon,operation&$filter=_objectid_value eq ${recordId}&$orderby=createdon desc`;
    rows = (await http.json<{ value: AuditRow[] }>({ method: 'GET', url: query, headers: { prefer: 'odata.maxpagesize=5000' } })).value;
  } catch (error) {
    if (isUnreadable(error)) return undefined;
    throw error;
  }
  if (rows.length === 0) return undefined;
  const found = new Map<string, string>();
  const updates = rows.filter((row) => row.operation === 2);
  let reads = 0;
  for (const row of updates) {
    if (found.size === columns.size) break;
    if (reads === MAX_DETAIL_READS) return found;
    reads += 1;
    let answer: AuditDetailsAnswer;
    try {
      // RetrieveAuditDetails: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrieveauditdetails [D84]
      answer = await http.json<AuditDetailsAnswer>({ method: 'GET', url: `audits(${row.auditid})/Microsoft.Dynamics.CRM.RetrieveAuditDetails` });
    } catch (error) {
      if (isUnreadable(error)) return found;
      throw error;
    }
    for (const column of changedColumnsOf(answer)) {
      if (columns.has(column) && !found.has(column)) found.set(column, isoTime(row.createdon));
    }
  }
  const created = rows.find((row) => row.operation === 1);
  if (created) for (const column of columns) if (!found.has(column)) found.set(column, isoTime(created.createdon));
  return found;
}

/** An audit read refused for want of privileges, or a row gone meanwhile: the record stamp stands [D87]. */
function isUnreadable(error: unknown): boolean {
  return error instanceof ConnectorError && (error.errorClass === 'not-found' || error.errorClass === 'permission' || error.status === 403);
}

function isoTime(value: string): string {
  return new Date(Date.parse(value)).toISOString();
}
