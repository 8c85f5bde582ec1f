import { readFile } from 'node:fs/promises';
import { slugSchema } from '../model/identifiers';
import { usageError } from './errors';

/** Reads a whole stream (stdin) as UTF-8. */
async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A JSON object from a file, or from stdin when the path is `-`. Credentials come only this way,
 * never from argv, where `ps` and shell history would show them. Error messages name the file
 * and the JSON problem but never quote its content: it may be a secret.
 */
export async function readJsonObject(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = file === '-' ? await readStream(process.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${what} file "${file}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const source = file === '-' ? 'stdin' : `"${file}"`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`${what} from ${source} is not valid JSON (${jsonProblem(error as Error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw usageError(`${what} from ${source} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** V8's JSON messages quote the text around the problem; for a credentials file that is a secret. */
function jsonProblem(error: Error): string {
  if (/end of JSON input/.test(error.message)) return 'it ends too early';
  const position = /position (\d+)/.exec(error.message)?.[1];
  return position === undefined ? 'syntax error' : `syntax error at character ${Number(position) + 1}`;
}

/** Tenant and connection ids are slugs (they appear in workflow ids and URLs). */
export function slug(value: string, what: string): string {
  const parsed = slugSchema.safeParse(value);
  if (!parsed.success) throw usageError(`${what} "${value}" ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

/** Writes JSON for scripts, or the human text. */
export function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** A plain aligned table; empty when there are no rows. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
