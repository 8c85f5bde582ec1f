import type { ColumnDefinition } from './entity-sets';

/** A text column of `maxLength` characters. */
export const text = (maxLength: number, extra: Partial<ColumnDefinition> = {}): ColumnDefinition => ({ type: 'string', maxLength, ...extra });
/** A choice column (option set); values as the platform numbers them. */
export const choice = (options: readonly [number, string][], extra: Partial<ColumnDefinition> = {}): ColumnDefinition => ({
  type: 'number',
  attributeType: 'Picklist',
  options: options.map(([value, label]) => ({ value, label })),
  ...extra,
});

