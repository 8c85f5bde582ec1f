import { randomUUID } from 'node:crypto';
import type { EntitySetDefinition } from './entity-sets';
import { renderDateTime } from './render';
import type { Row } from './store';

/** `audit.operation` [D82]: Create 1, Update 2, Delete 3. `action` takes the same numbers for these messages. */
export const AUDIT_OPERATION = { Create: 1, Update: 2, Delete: 3 } as const;

/** Tables audited when the organisation audits: the user-owned tables this sandbox syncs (per-table settings: UNCONFIRMED defaults) [D81]. */
export const AUDITED_TABLES: ReadonlySet<string> = new Set(['contact', 'account', 'opportunity', 'task', 'phonecall', 'email', 'appointment']);

/** The old and new values of one audited change, kept beside its audit row (the table's `changedata`, not served). */
export interface AuditChange {
  definition: EntitySetDefinition;
  oldValue: Row;
  newValue: Row;
}

/** Columns the platform maintains on every write: not part of what a caller changed. */
const UNAUDITED = new Set(['modifiedon', 'createdon', 'versionnumber', '_modifiedby_value', '_createdby_value']);

/**
 * The columns a write changed, old and new: a create names every column it set, an update only
 * those whose value differs from the stored one (a write of an equal value leaves no entry, UNCONFIRMED) [D83].
 */
export function changedColumns(definition: EntitySetDefinition, before: Row | undefined, after: Row): { oldValue: Row; newValue: Row } {
  const oldValue: Row = {};
  const newValue: Row = {};
  for (const column of Object.keys(definition.columns)) {
    if (UNAUDITED.has(column) || column === definition.primaryId) continue;
    const next = after[column] ?? null;
    const previous = before ? (before[column] ?? null) : null;
    if (JSON.stringify(next) === JSON.stringify(previous)) continue;
    if (before) oldValue[column] = previous;
    newValue[column] = next;
  }
  return { oldValue, newValue };
}

export function auditRow(definition: EntitySetDefinition, recordId: string, operation: number, stamp: string, userId: string, version: number): Row {
  return {
    auditid: randomUUID(),
    operation,
    action: operation,
    attributemask: null,
    createdon: stamp,
    objecttypecode: definition.logicalName,
    _objectid_value: recordId,
    _userid_value: userId,
    _callinguserid_value: null,
    _regardingobjectid_value: null,
    transactionid: '00000000-0000-0000-0000-000000000000',
    useradditionalinfo: null,
    versionnumber: version,
  };
}

/** One entry's values as the Web API writes an entity in an AttributeAuditDetail: `@odata.type`, then the columns [D84]. */
function auditedEntity(change: AuditChange, values: Row): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.type': `#Microsoft.Dynamics.CRM.${change.definition.logicalName}` };
  for (const [column, value] of Object.entries(values)) {
    if (value === null) continue;
    out[column] = change.definition.columns[column]?.type === 'datetime' ? renderDateTime(value) : value;
  }
  return out;
}

/** An AttributeAuditDetail ComplexType [D84]. The Web API leaves out `AuditRecord` [D85]. */
export function attributeAuditDetail(change: AuditChange): Record<string, unknown> {
  return {
    '@odata.type': '#Microsoft.Dynamics.CRM.AttributeAuditDetail',
    InvalidNewValueAttributes: [],
    LocLabelLanguageCode: 0,
    DeletedAttributes: { Count: 0, Keys: [], Values: [] },
    OldValue: auditedEntity(change, change.oldValue),
    NewValue: auditedEntity(change, change.newValue),
  };
}
