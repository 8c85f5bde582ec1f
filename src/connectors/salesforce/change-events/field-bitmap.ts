/**
 * Salesforce's bitmap field lists (ChangeEventHeader changedFields, nulledFields, diffFields over
 * Pub/Sub API), decoded as the vendor documents (vendor-facts S92): element 0, `0x<hex>`, is a
 * bitmap whose bit i (least significant first) is the schema's top-level field i; `<i>-0x<hex>`
 * is the bitmap of the nested fields of compound field i, named `<parent>.<child>`.
 * Pure: the schema is the decoded Avro schema JSON.
 */
export interface RecordSchemaJson {
  name?: string;
  fields: { name: string; type: unknown }[];
}

function setBits(hex: string): number[] {
  const value = BigInt(hex.startsWith('0x') || hex.startsWith('0X') ? hex : `0x${hex}`);
  const bits: number[] = [];
  for (let index = 0; value >> BigInt(index) !== 0n; index += 1) {
    if ((value >> BigInt(index)) & 1n) bits.push(index);
  }
  return bits;
}

/** The record schema inside an optional field (`["null", {record}]`), if it is one. */
function nestedRecord(type: unknown): RecordSchemaJson | undefined {
  const candidates = Array.isArray(type) ? type : [type];
  return candidates.find((candidate): candidate is RecordSchemaJson => typeof candidate === 'object' && candidate !== null && (candidate as { type?: unknown }).type === 'record' && Array.isArray((candidate as { fields?: unknown }).fields));
}

export class FieldBitmapError extends Error {}

export function decodeFieldBitmap(schema: RecordSchemaJson, bitmap: readonly string[]): string[] {
  const names: string[] = [];
  const fieldAt = (index: number) => {
    const field = schema.fields[index];
    if (!field) throw new FieldBitmapError(`bitmap names field ${index}, but the schema ${schema.name ?? ''} has ${schema.fields.length}`);
    return field;
  };
  for (const entry of bitmap) {
    const nested = /^(\d+)-(0x[0-9a-fA-F]+)$/.exec(entry);
    if (nested) {
      const parent = fieldAt(Number(nested[1]));
      const record = nestedRecord(parent.type);
      if (!record) throw new FieldBitmapError(`bitmap entry ${entry} names ${parent.name}, which is not a compound field`);
      for (const bit of setBits(nested[2] as string)) {
        const child = record.fields[bit];
        if (!child) throw new FieldBitmapError(`bitmap entry ${entry} names nested field ${bit} of ${parent.name}, which has ${record.fields.length}`);
        names.push(`${parent.name}.${child.name}`);
      }
    } else if (/^0x[0-9a-fA-F]+$/.test(entry)) {
      for (const bit of setBits(entry)) names.push(fieldAt(bit).name);
    } else {
      throw new FieldBitmapError(`not a field bitmap: ${JSON.stringify(entry)}`);
    }
  }
  return names;
}
