import { createHash } from 'node:crypto';
import avro from 'avsc';
import type { FieldDef, FieldType, SObjectDef } from '../schema';

/**
 * The Avro schema of `<Entity>ChangeEvent` as Pub/Sub API serves it (vendor-facts S90, S91):
 * `ChangeEventHeader` first, then one optional field per record field (`["null", type]`, default
 * null: an event carries only what changed), compound fields (a contact's Name, an address) as
 * nested records, dates and datetimes as epoch milliseconds (`long`). Left out as in CDC: Id (the header's
 * recordIds name the records), IsDeleted and SystemModstamp.
 */
export const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;
export type CdcChangeType = (typeof CHANGE_TYPES)[number];

const NOT_IN_CHANGE_EVENTS = new Set(['Id', 'IsDeleted', 'SystemModstamp']);

/** Compound fields: the nested record's name and, per nested field, the record field it holds. */
const COMPOUNDS: { name: string; parts: Record<string, string> }[] = [
  { name: 'Name', parts: { Salutation: 'Salutation', FirstName: 'FirstName', LastName: 'LastName' } },
  ...['Mailing', 'Other', 'Billing', 'Shipping'].map((prefix) => ({
    name: `${prefix}Address`,
    parts: Object.fromEntries(['Street', 'City', 'State', 'PostalCode', 'Country'].map((part) => [part, `${prefix}${part}`])),
  })),
];

/** One top-level field of the schema: a plain field, or a compound holding several record fields by nested name. */
export interface LayoutPart {
  name: string;
  /** The record field it holds. */
  source: string;
  fieldType: FieldType;
}
export type LayoutField = LayoutPart | { name: string; compound: LayoutPart[] };

export interface ChangeEventSchema {
  entityName: string;
  schemaId: string;
  schemaJson: string;
  type: avro.Type;
  /** Top-level fields after the header, in schema order (bit i+1 of changedFields is layout[i]). */
  layout: LayoutField[];
}

const headerSchema = {
  type: 'record',
  name: 'ChangeEventHeader',
  namespace: 'com.salesforce.eventbus',
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    { name: 'changeType', type: { type: 'enum', name: 'ChangeType', namespace: 'com.salesforce.eventbus', symbols: [...CHANGE_TYPES] } },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
  ],
};

function avroType(type: FieldType): unknown {
  switch (type) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'double';
    case 'date':
    case 'datetime':
      return 'long';
    default:
      return 'string';
  }
}

function typeOf(def: SObjectDef, name: string): FieldType {
  return (def.fields.get(name) as FieldDef).type;
}

function layoutOf(def: SObjectDef): LayoutField[] {
  const names = [...def.fields.keys()].filter((name) => !NOT_IN_CHANGE_EVENTS.has(name));
  const inCompound = new Map<string, (typeof COMPOUNDS)[number]>();
  for (const compound of COMPOUNDS) {
    const present = Object.values(compound.parts).filter((source) => def.fields.has(source));
    // Only a compound whose parts the object has; a lone formula `Name` stays a plain field otherwise.
    if (present.length >= 2) for (const source of present) inCompound.set(source, compound);
  }
  const layout: LayoutField[] = [];
  const placed = new Set<string>();
  for (const name of names) {
    const compound = inCompound.get(name);
    if (compound) {
      if (placed.has(compound.name)) continue;
      placed.add(compound.name);
      layout.push({ name: compound.name, compound: Object.entries(compound.parts).filter(([, source]) => def.fields.has(source)).map(([nested, source]) => ({ name: nested, source, fieldType: typeOf(def, source) })) });
    } else if (!inCompound.has(name) && !(name === 'Name' && [...inCompound.values()].some((c) => c.name === 'Name'))) {
      layout.push({ name, source: name, fieldType: typeOf(def, name) });
    }
  }
  return layout;
}

/** The schema of an object's change events now (custom fields added later give a new schema id). */
export function changeEventSchema(def: SObjectDef): ChangeEventSchema {
  const layout = layoutOf(def);
  const entity = `${def.name}ChangeEvent`;
  const fields: unknown[] = [{ name: 'ChangeEventHeader', type: headerSchema }];
  for (const field of layout) {
    if ('compound' in field) {
      const nested = { type: 'record', name: `${entity}_${field.name}`, fields: field.compound.map((part) => ({ name: part.name, type: ['null', avroType(part.fieldType)], default: null })) };
      fields.push({ name: field.name, type: ['null', nested], default: null });
    } else {
      fields.push({ name: field.name, type: ['null', avroType(field.fieldType)], default: null });
    }
  }
  const schema = { type: 'record', name: entity, namespace: 'com.sforce.eventbus', fields };
  const schemaJson = JSON.stringify(schema);
  // An opaque fingerprint of the schema text, as the vendor's schema ids are (22 base64url characters).
  const schemaId = createHash('sha256').update(schemaJson).digest('base64url').slice(0, 22);
  return { entityName: def.name, schemaId, schemaJson, type: avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false }), layout };
}

/**
 * The bitmap form of a field list (vendor-facts S92): element 0 is `0x` + hex of a bitmap whose
 * bit i is top-level field i (the header is field 0); a compound field with changed parts is named by
 * `<index>-0x<hex>` whose bit j is its nested field j. Empty list when nothing is named.
 */
export function encodeFieldBitmap(layout: readonly LayoutField[], sources: readonly string[]): string[] {
  const named = new Set(sources);
  let top = 0n;
  const nested: string[] = [];
  layout.forEach((field, i) => {
    const index = i + 1;
    if ('compound' in field) {
      let bits = 0n;
      field.compound.forEach((part, j) => {
        if (named.has(part.source)) bits |= 1n << BigInt(j);
      });
      // The parts say it; whether the vendor also sets the compound's own top-level bit is UNCONFIRMED (S92).
      if (bits !== 0n) nested.push(`${index}-0x${bits.toString(16).toUpperCase()}`);
    } else if (named.has(field.source)) {
      top |= 1n << BigInt(index);
    }
  });
  if (top === 0n && nested.length === 0) return [];
  return [`0x${top.toString(16).toUpperCase()}`, ...nested];
}
