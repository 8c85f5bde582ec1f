import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type pg from 'pg';
import { quoteIdentifier } from '../../src/store/database';

/** A secret and the ways it could be written down: as is, base64 (payloads, JSON bytes), hex (bytea). */
export interface KnownSecret {
  name: string;
  forms: Buffer[];
}

export function knownSecret(name: string, value: string): KnownSecret {
  return { name, forms: [Buffer.from(value), Buffer.from(Buffer.from(value).toString('base64')), Buffer.from(Buffer.from(value).toString('hex'))] };
}

/** "<secret> in <place>" for every secret found in a place. */
export function findLeaks(places: Record<string, Buffer | string>, secrets: readonly KnownSecret[]): string[] {
  return Object.entries(places).flatMap(([place, haystack]) => {
    const bytes = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack);
    return secrets.filter((secret) => secret.forms.some((form) => bytes.includes(form))).map((secret) => `${secret.name} in ${place}`);
  });
}

/** Every row of every table of one schema, as JSON text (bytea as hex). */
export async function dumpSchema(pool: pg.Pool, schema: string): Promise<string> {
  const tables = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = $1", [schema]);
  const dump: string[] = [];
  for (const { table_name: table } of tables.rows) {
    const rows = await pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)} t`);
    dump.push(`-- ${table}`, ...rows.rows.map((row) => row.row));
  }
  return dump.join('\n');
}

/** The raw history (JSON) of every execution the query lists, plus every base64 value in it decoded, so plaintext inside payloads shows. */
export async function dumpHistories(client: Client, query: string): Promise<{ text: string; workflowIds: string[] }> {
  const parts: string[] = [];
  const workflowIds: string[] = [];
  for await (const execution of client.workflow.list({ query })) {
    workflowIds.push(execution.workflowId);
    const json = historyToJSON(await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory());
    parts.push(json);
    for (const [, value] of json.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)) parts.push(Buffer.from(value!, 'base64').toString('utf8'));
  }
  return { text: parts.join('\n'), workflowIds };
}
