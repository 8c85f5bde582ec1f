/**
 * A batch of JSON values as one PostgreSQL array literal, for a `$n::jsonb[]` parameter: exactly
 * the text pg sends for an array of their JSON strings, built faster. pg quotes each element with
 * two regular-expression passes (backslashes, then double quotes), which for a backfill's
 * snapshots and canonical records (hundreds of characters of JSON per record, quotes everywhere)
 * was the largest single cost of the worker's query submission.
 *
 * Quoting an element means escaping `\` and `"` and wrapping it in double quotes, which is what
 * JSON.stringify does to a string that is itself JSON.stringify's output: that text has no control
 * character or lone surrogate left (the first pass escaped them), so the second pass escapes
 * nothing else, and it does so in native code. The documents are quoted in one call, as a JSON
 * array of strings, `["…","…"]`: between its brackets is the literal's list.
 */
export function jsonArrayLiteral(values: readonly unknown[]): string {
  const documents = new Array<string>(values.length);
  for (let index = 0; index < values.length; index += 1) {
    const json = JSON.stringify(values[index]) as string | undefined;
    if (json === undefined) return withNulls(values);
    documents[index] = json;
  }
  return `{${JSON.stringify(documents).slice(1, -1)}}`;
}

/** The same, element by element, for a batch holding undefined (JSON.stringify's undefined), which pg sends as NULL. */
function withNulls(values: readonly unknown[]): string {
  return `{${values.map((value) => (value === undefined ? 'NULL' : JSON.stringify(JSON.stringify(value)))).join(',')}}`;
}
