import type { PipedriveSandbox } from '../../../src/sandbox/pipedrive';

/** A v2 call with the API token header, as a Pipedrive client sends it. */
export async function call(pd: PipedriveSandbox, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; json: Record<string, unknown> & { success: boolean; data: unknown; additional_data?: { next_cursor: string | null } } }> {
  const response = await fetch(`${pd.url}${path}`, {
    method,
    headers: { 'x-api-token': pd.credentials.apiToken, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as never };
}
