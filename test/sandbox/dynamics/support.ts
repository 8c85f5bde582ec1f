import { startDynamicsSandbox, type DynamicsSandbox, type DynamicsSandboxOptions } from '../../../src/sandbox/dynamics/index';

export interface Client {
  sandbox: DynamicsSandbox;
  token: string;
  /** fetch against the service root with the bearer token and OData headers. */
  api(path: string, init?: RequestInit & { headers?: Record<string, string> }): Promise<Response>;
  newToken(): Promise<string>;
}

export async function requestToken(sandbox: DynamicsSandbox, overrides: Record<string, string> = {}): Promise<Response> {
  const { clientId, clientSecret, scope } = sandbox.credentials;
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId ?? '', client_secret: clientSecret ?? '', scope: scope ?? '', ...overrides });
  return fetch(sandbox.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
}

export async function startClient(options: DynamicsSandboxOptions = {}): Promise<Client> {
  const sandbox = await startDynamicsSandbox(options);
  const client: Client = {
    sandbox,
    token: '',
    newToken: async () => {
      const response = await requestToken(sandbox);
      const body = (await response.json()) as { access_token: string };
      client.token = body.access_token;
      return client.token;
    },
    api: (path, init = {}) =>
      fetch(`${sandbox.serviceRoot}/${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${client.token}`,
          accept: 'application/json',
          'odata-version': '4.0',
          'odata-maxversion': '4.0',
          ...(init.body !== undefined && typeof init.body === 'string' && !init.headers?.['content-type'] ? { 'content-type': 'application/json' } : {}),
          ...init.headers,
        },
      }),
  };
  await client.newToken();
  return client;
}

export type Json = Record<string, unknown>;

export async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}
