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
 * nothing else, and it does so in native code.
 */
export function jsonArrayLiteral(values: readonly unknown[]): string {
  const elements = new Array<string>(values.length);
  for (let index = 0; index < values.length; index += 1) {
    // JSON.stringify(undefined) is undefined, which pg sends as NULL.
    const json = JSON.stringify(values[index]) as string | undefined;
    elements[index] = json === undefined ? 'NULL' : JSON.stringify(json);
  }
  return `{${elements.join(',')}}`;
}
