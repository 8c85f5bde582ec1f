import type { ZohoSandbox } from '../../../src/sandbox/zoho';

/** A refresh-token grant at `accountsUrl`, as a client would send it (form-encoded). */
export async function grant(sandbox: ZohoSandbox, accountsUrl: string, overrides: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${accountsUrl}/oauth/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: sandbox.credentials.clientId,
      client_secret: sandbox.credentials.clientSecret,
      refresh_token: sandbox.credentials.refreshToken,
      ...overrides,
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function accessToken(sandbox: ZohoSandbox): Promise<string> {
  const { body } = await grant(sandbox, sandbox.credentials.accountsServer);
  if (typeof body.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** One API call at `base` (default the account's API domain) with a Zoho-oauthtoken header. */
export async function api(sandbox: ZohoSandbox, token: string, method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; base?: string } = {}): Promise<ApiAnswer> {
  const response = await fetch(`${options.base ?? sandbox.url}/crm/v6/${path}`, {
    method,
    headers: { authorization: `Zoho-oauthtoken ${token}`, ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

