/**
 * Batch parameters built in native code. A backfill sends PostgreSQL a batch of rows per query,
 * hundreds of times a minute; pg turns each array parameter into an array literal element by
 * element, with two regular-expression passes per element, and every byte sent goes through the
 * loopback socket on the worker's own thread. Both showed at the top of the worker's profile.
 */

/**
 * Rows as one JSON document for a `$n::jsonb` parameter, read back in SQL with
 * `jsonb_array_elements($n::jsonb) AS r` and `r->>0`, `r->1`, ...: one JSON.stringify for the whole
 * batch, and JSON documents inside it sent as they are instead of quoted again inside an array
 * literal. A Date becomes its ISO instant (UTC), which `::timestamptz` reads; undefined becomes
 * JSON null, which `->>` reads as SQL NULL.
 */
export function jsonRows(rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(rows);
}

/**
 * Strings (and nulls) as the PostgreSQL array literal pg would send for them, for a `$n::text[]`
 * or `$n::uuid[]` parameter. Quoting an element means escaping `\` and `"` and wrapping it in
 * double quotes, which is what JSON.stringify does to a string without control characters or lone
 * surrogates; JSON's null is the literal's NULL. A batch holding a character JSON escapes
 * otherwise (`\n`, `\u0000`, ...) is returned as the array itself, for pg to quote: such text would
 * read differently in an array literal. (An escaped backslash before one of those letters is
 * taken for such a character too: pg quotes that batch, which costs time, never correctness.)
 */
export function textArrayLiteral(values: readonly (string | null)[]): string | (string | null)[] {
  const json = JSON.stringify(values);
  // Ids hold no backslash at all: the search for escapes is then skipped (it read every id again).
  if (json.includes('\\') && /\\[bfnrtu]/.test(json)) return [...values];
  return `{${json.slice(1, -1)}}`;
}

/**
 * The same array literal, always as text (for a statement that carries it inline, see
 * `sqlLiteral`): a batch holding a character JSON would escape is quoted element by element as pg
 * quotes it (a backslash before `\` and `"`, the rest as it is).
 */
export function textArrayText(values: readonly (string | null)[]): string {
  const literal = textArrayLiteral(values);
  if (typeof literal === 'string') return literal;
  return `{${values.map((value) => (value === null ? 'NULL' : `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)).join(',')}}`;
}

