import { isSfDate, parseSfDateTime } from './dates';
import { SalesforceApiError } from './errors';
import { isWellFormedId, toId18 } from './ids';
import { readField, readFieldMs, type StoredRecord } from './records';
import { resolveTypeName, type FieldType, type SObjectDef, type SObjectType } from './schema';
import { soqlError } from './soql-lexer';
import { parseSoql, type Condition, type FieldRef, type Literal } from './soql-parser';
import type { RecordStore } from './store';

type Comparable = string | number | boolean | null;

/** A parsed query checked against the schema, ready to run. */
export interface BoundQuery {
  type: SObjectType;
  /** Canonical field names in SELECT order. */
  fields: string[];
  count: boolean;
  matches: (record: StoredRecord) => boolean;
  compare?: (a: StoredRecord, b: StoredRecord) => number;
  limit?: number;
  offset?: number;
}

const TYPE_NAMES: Record<FieldType, string> = {
  id: 'id',
  reference: 'id',
  string: 'string',
  email: 'string',
  boolean: 'boolean',
  number: 'double',
  date: 'date',
  datetime: 'dateTime',
};

export function compileSoql(soql: string, store: RecordStore): BoundQuery {
  const parsed = parseSoql(soql);
  const type = resolveTypeName(parsed.object.name);
  if (!type) {
    throw soqlError(
      'INVALID_TYPE',
      soql,
      parsed.object.column,
      `sObject type '${parsed.object.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const def = store.def(type);
  const resolve = (ref: FieldRef) => resolveField(soql, def, parsed.object.name, ref);
  const fields = parsed.fields.map(resolve);
  if (parsed.offset !== undefined && parsed.offset > 2000) {
    throw new SalesforceApiError(400, 'NUMBER_OUTSIDE_VALID_RANGE', `Maximum SOQL offset allowed is 2000`);
  }
  const bound: BoundQuery = {
    type,
    fields: [...new Set(fields)],
    count: parsed.count,
    matches: parsed.where ? compileCondition(soql, def, parsed.where, resolve) : () => true,
    ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}),
    ...(parsed.offset !== undefined ? { offset: parsed.offset } : {}),
  };
  if (parsed.orderBy.length > 0) {
    const keys = parsed.orderBy.map((item) => ({ ...item, field: resolve(item.field), fieldType: fieldType(def, resolve(item.field)) }));
    bound.compare = (a, b) => {
      for (const key of keys) {
        const left = comparable(a, key.field, key.fieldType);
        const right = comparable(b, key.field, key.fieldType);
        if (left === right) continue;
        if (left === null) return key.nullsLast ? 1 : -1;
        if (right === null) return key.nullsLast ? -1 : 1;
        const order = left < right ? -1 : 1;
        return key.descending ? -order : order;
      }
      return 0;
    };
  }
  return bound;
}

/** Runs a bound query; `/query` leaves out the Recycle Bin, `/queryAll` includes it [S21]. */
export function runQuery(query: BoundQuery, store: RecordStore, includeDeleted: boolean): StoredRecord[] {
  let rows: StoredRecord[] = [];
  for (const record of store.all(query.type)) {
    if (!includeDeleted && record.deletedMs !== undefined) continue;
    if (query.matches(record)) rows.push(record);
  }
  if (query.compare) rows.sort(query.compare);
  if (query.offset) rows = rows.slice(query.offset);
  if (query.limit !== undefined) rows = rows.slice(0, query.limit);
  return rows;
}

function resolveField(soql: string, def: SObjectDef, objectName: string, ref: FieldRef): string {
  let name = ref.name;
  const dot = name.indexOf('.');
  if (dot >= 0) {
    const prefix = name.slice(0, dot);
    if (prefix.toLowerCase() !== objectName.toLowerCase()) {
      throw soqlError(
        'INVALID_FIELD',
        soql,
        ref.column,
        `Didn't understand relationship '${prefix}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    name = name.slice(dot + 1);
  }
  const canonical = def.byLowerName.get(name.toLowerCase());
  if (!canonical) {
    throw soqlError(
      'INVALID_FIELD',
      soql,
      ref.column,
      `No such column '${name}' on entity '${def.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  return canonical;
}

function fieldType(def: SObjectDef, field: string): FieldType {
  return def.fields.get(field)?.type ?? 'string';
}

/** The value compared by filters and ORDER BY: strings compare case-insensitively in SOQL. */
function comparable(record: StoredRecord, field: string, type: FieldType): Comparable {
  if (type === 'datetime') {
    const ms = readFieldMs(record, field);
    if (ms !== undefined) return ms;
    const value = readField(record, field);
    return typeof value === 'string' ? (parseSfDateTime(value) ?? null) : null;
  }
  const value = readField(record, field);
  if (value === null || value === '') return type === 'boolean' ? false : null;
  if (type === 'string' || type === 'email') return String(value).toLowerCase();
  return value;
}

function compileCondition(soql: string, def: SObjectDef, condition: Condition, resolve: (ref: FieldRef) => string): (record: StoredRecord) => boolean {
  switch (condition.kind) {
    case 'and': {
      const parts = condition.operands.map((operand) => compileCondition(soql, def, operand, resolve));
      return (record) => parts.every((part) => part(record));
    }
    case 'or': {
      const parts = condition.operands.map((operand) => compileCondition(soql, def, operand, resolve));
      return (record) => parts.some((part) => part(record));
    }
    case 'not': {
      const inner = compileCondition(soql, def, condition.operand, resolve);
      return (record) => !inner(record);
    }
    case 'compare': {
      const field = resolve(condition.field);
      const type = fieldType(def, field);
      const values = condition.values.map((literal) => literalValue(soql, field, type, literal, condition.column));
      const { op } = condition;
      if (op === 'LIKE') {
        if (type !== 'string' && type !== 'email') throw soqlError('INVALID_QUERY_FILTER_OPERATOR', soql, condition.column, `invalid operator on field '${field}'`);
        const pattern = likePattern(String(values[0] ?? ''));
        return (record) => {
          const value = comparable(record, field, type);
          return typeof value === 'string' && pattern.test(value);
        };
      }
      if (op === 'IN' || op === 'NOT IN') {
        const set = new Set(values);
        return (record) => set.has(comparable(record, field, type)) === (op === 'IN');
      }
      const target = values[0] ?? null;
      return (record) => compareOp(op, comparable(record, field, type), target);
    }
  }
}

function compareOp(op: string, value: Comparable, target: Comparable): boolean {
  if (op === '=') return value === target;
  if (op === '!=') return value !== target;
  if (value === null || target === null) return false;
  switch (op) {
    case '<':
      return value < target;
    case '<=':
      return value <= target;
    case '>':
      return value > target;
    default:
      return value >= target;
  }
}

/** Converts a literal to the field's comparable form, refusing the mismatches Salesforce refuses. */
function literalValue(soql: string, field: string, type: FieldType, literal: Literal, column: number): Comparable {
  if (literal.kind === 'null') return type === 'boolean' ? false : null;
  const mismatch = (): never => {
    const quoted = type === 'string' || type === 'email' || type === 'id' || type === 'reference';
    throw soqlError(
      'INVALID_QUERY_FILTER_OPERATOR',
      soql,
      column,
      `value of filter criterion for field '${field}' must be of type ${TYPE_NAMES[type]} and should${quoted ? '' : ' not'} be enclosed in quotes`,
    );
  };
  switch (type) {
    case 'datetime':
      return literal.kind === 'datetime' ? (parseSfDateTime(literal.text) ?? mismatch()) : mismatch();
    case 'date':
      return literal.kind === 'date' && isSfDate(literal.text) ? literal.text : mismatch();
    case 'boolean':
      return literal.kind === 'boolean' ? literal.value : mismatch();
    case 'number':
      return literal.kind === 'number' ? literal.value : mismatch();
    case 'id':
    case 'reference':
      if (literal.kind !== 'string') return mismatch();
      if (!isWellFormedId(literal.value)) throw soqlError('INVALID_QUERY_FILTER_OPERATOR', soql, column, `invalid ID field: ${literal.value}`);
      return toId18(literal.value);
    default:
      return literal.kind === 'string' ? literal.value.toLowerCase() : mismatch();
  }
}

function likePattern(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '\\' && (pattern[i + 1] === '%' || pattern[i + 1] === '_')) {
      source += `\\${pattern[i + 1]}`;
      i += 1;
    } else if (char === '%') source += '.*';
    else if (char === '_') source += '.';
    else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
