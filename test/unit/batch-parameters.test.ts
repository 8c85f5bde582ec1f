import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { jsonRows, textArrayLiteral, textArrayText } from '../../src/store/batch-parameters';

// pg's own conversion of a parameter: what the batch queries sent before textArrayLiteral.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown };

describe('textArrayLiteral', () => {
  it('is the literal pg sends for the same strings and nulls', () => {
    const values = ['0b7f6a1e-2c4d-4e8f-9a0b-1c2d3e4f5a6b', 'a "quoted" \\ name', 'NULL', '', '{},', 'ünï 😀 \u2028', null, '003000000000001AAA'];
    // JSON's null where pg writes NULL: PostgreSQL reads an unquoted NULL in any case.
    expect(textArrayLiteral(values)).toBe((prepareValue(values) as string).replace(',NULL,', ',null,'));
    expect(textArrayLiteral([])).toBe(prepareValue([]));
  });

  it('leaves a batch holding a character JSON would escape to pg, which quotes it right', () => {
    for (const odd of ['line\nbreak', 'nul\u0000', 'lone \ud800', 'tab\t', 'escaped backslash then n: \\n']) {
      const values = ['plain', odd];
      const sent = textArrayLiteral(values);
      expect(sent).toEqual(values);
      expect(prepareValue(sent)).toBe(prepareValue(values));
    }
  });
});

describe('jsonRows', () => {
  it('sends rows as one JSON array: dates as ISO instants, undefined as null', () => {
    const at = new Date('2026-11-20T10:00:00.123Z');
    expect(JSON.parse(jsonRows([['id', { a: '"q"' }, at, undefined, true]]))).toEqual([['id', { a: '"q"' }, '2026-11-20T10:00:00.123Z', null, true]]);
  });
});

describe('textArrayText', () => {
  it('is the literal pg sends for any strings, as text', () => {
    for (const odd of ['plain', 'line\nbreak', 'lone \ud800', 'tab\t', 'escaped backslash then n: \\n', 'a "quoted" \\ name']) {
      const values = ['plain', odd, null];
      // JSON's null where pg writes NULL (the batch without odd characters): the same to PostgreSQL.
      expect(textArrayText(values).replace(/,null\}$/, ',NULL}')).toBe(prepareValue(values));
    }
  });
});
