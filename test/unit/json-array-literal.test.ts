import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { jsonArrayLiteral } from '../../src/store/json-array-literal';

// pg's own conversion of a parameter: what the batch inserts sent before jsonArrayLiteral.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown };

describe('jsonArrayLiteral', () => {
  it('is the literal pg sends for the same values as JSON strings', () => {
    const values: unknown[] = [
      { email: 'a"b\\c@example.com', tags: [1, null, 'x'], custom: { note: '\\"{},' } },
      null,
      'quote " and \\',
      0,
      [],
      {},
      // Characters JSON.stringify escapes (control characters, a lone surrogate) or leaves alone (U+2028, astral).
      'ünï 😀\n\t\u0000\u001f\u2028\ud800 \u007f',
      undefined,
    ];
    expect(jsonArrayLiteral(values)).toBe(prepareValue(values.map((value) => (value === undefined ? undefined : JSON.stringify(value)))));
  });

  it('is the same literal without undefined values (the whole batch quoted at once)', () => {
    const values: unknown[] = [{ name: 'a "quoted" \\ name', n: 1 }, null, 'ünï 😀\n\u2028\ud800', [], 0];
    expect(jsonArrayLiteral(values)).toBe(prepareValue(values.map((value) => JSON.stringify(value))));
  });

  it('is an empty array for no values', () => {
    expect(jsonArrayLiteral([])).toBe(prepareValue([]));
  });
});
