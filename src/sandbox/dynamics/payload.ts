import type { ColumnDefinition, ColumnType, EntitySetDefinition } from './entity-sets';
import { edmTypeName, entitySet } from './entity-sets';
import { badQuery, optionOutOfRange, recordNotFound, stringTooLong, userDisabled } from './errors';
import { isGuid } from './resource-path';
import type { DataverseStore, Row } from './store';


function convert(value: unknown, type: ColumnType): unknown {
  if (value === null) return null;
  const fail = (): never => {
    throw badQuery(`Cannot convert the literal '${JSON.stringify(value)}' to the expected type '${edmTypeName[type]}'.`);
  };
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : fail();
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : fail();
    case 'boolean':
      return typeof value === 'boolean' ? value : fail();
    case 'guid':
      return typeof value === 'string' && isGuid(value) ? value.toLowerCase() : fail();
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : fail();
    case 'datetime': {
      const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      return Number.isNaN(time) ? fail() : new Date(time).toISOString();
    }
  }
}

/**
 * Turns a JSON entity payload into column values: unknown properties are refused as the OData
 * layer refuses them, read-only system columns are ignored (Dataverse ignores them too), and
 * `nav@odata.bind` references fill their lookup column after checking the target exists.
 */
export function toColumnValues(
  definition: EntitySetDefinition,
  body: unknown,
  store: DataverseStore,
  references: ReadonlyMap<string, string>,
): Row {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badQuery('The request body must be a JSON object describing the entity.');
  }
  const values: Row = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key.endsWith('@odata.bind')) {
      const name = key.slice(0, -'@odata.bind'.length);
      const binding = definition.bindings[name];
      if (!binding) {
        throw badQuery(`An undeclared property '${name}' which only has property annotations in the payload but no property value was found in the payload.`);
      }
      values[binding.column] = resolveBind(value, binding.targetSet, store, references);
      // One column, many navigation properties: the type column says which table it points at now.
      if (binding.typeColumn !== undefined) values[binding.typeColumn] = values[binding.column] === null ? null : (binding.typeValue ?? null);
      continue;
    }
    if (key.includes('@')) continue;
    const column = definition.columns[key];
    if (!column) {
      throw badQuery(`The property '${key}' does not exist on type 'Microsoft.Dynamics.CRM.${definition.logicalName}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    }
    if (column.readOnly) continue;
    values[key] = withinLimits(definition, key, column, convert(value, column.type));
  }
  return values;
}

/** What the column's metadata says a value must fit: MaxLength for text, the option set for a choice. */
function withinLimits(definition: EntitySetDefinition, key: string, column: ColumnDefinition, value: unknown): unknown {
  if (typeof value === 'string' && column.maxLength !== undefined && value.length > column.maxLength) throw stringTooLong(definition.logicalName, key, column.maxLength);
  if (typeof value === 'number' && column.options && !column.options.some((option) => option.value === value)) {
    throw optionOutOfRange(definition.logicalName, key, value, column.options.map((option) => option.value));
  }
  return value;
}

function resolveBind(value: unknown, targetSet: string, store: DataverseStore, references: ReadonlyMap<string, string>): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw badQuery(`Cannot convert the literal '${JSON.stringify(value)}' to the expected type 'Edm.String'.`);
  const text = references.get(value) ?? value;
  const match = /([A-Za-z_]+)\(([0-9a-fA-F-]{36})\)$/.exec(text);
  const target = match ? entitySet(match[1] as string) : undefined;
  if (!match || !target || target.setName !== targetSet) throw badQuery(`Invalid entity reference '${value}'.`);
  const id = (match[2] as string).toLowerCase();
  const row = store.get(target, id);
  if (!row) throw recordNotFound(target.logicalName, id);
  if (target.setName === 'systemusers' && row.isdisabled === true) throw userDisabled(id);
  return id;
}
