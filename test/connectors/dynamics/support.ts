import { randomUUID } from 'node:crypto';
import { createDynamicsConnector, type DynamicsConnector, type DynamicsConnectorOptions } from '../../../src/connectors/dynamics/index';
import { startDynamicsSandbox, type DynamicsSandbox, type DynamicsSandboxOptions } from '../../../src/sandbox/dynamics/index';

export interface Harness {
  sandbox: DynamicsSandbox;
  connector: DynamicsConnector;
  connect(overrides?: Partial<DynamicsConnectorOptions>): Promise<DynamicsConnector>;
  tokenRequests(): number;
  stop(): Promise<void>;
}

/** A TLS sandbox (MSAL insists on https authorities) and a connector trusting its certificate. */
export async function startHarness(
  sandboxOptions: DynamicsSandboxOptions = {},
  connectorOptions: Partial<DynamicsConnectorOptions> = {},
): Promise<Harness> {
  const sandbox = await startDynamicsSandbox({ tls: true, ...sandboxOptions });
  const opened: DynamicsConnector[] = [];
  const connect = async (overrides: Partial<DynamicsConnectorOptions> = {}): Promise<DynamicsConnector> => {
    const { tenantId = '', clientId = '', clientSecret = '', authority, scope } = sandbox.credentials;
    const connector = await createDynamicsConnector({
      connectionId: `dyn-${randomUUID().slice(0, 8)}`,
      orgUrl: sandbox.url,
      credentials: { tenantId, clientId, clientSecret, authority, scope },
      ca: sandbox.tls?.ca,
      rateLimits: false,
      ...connectorOptions,
      ...overrides,
    });
    opened.push(connector);
    return connector;
  };
  const connector = await connect();
  return {
    sandbox,
    connector,
    connect,
    tokenRequests: () => Object.entries(sandbox.counters.snapshot().requests).filter(([endpoint]) => endpoint.startsWith('POST') && endpoint.includes('/oauth2/v2.0/token')).reduce((sum, [, count]) => sum + count, 0),
    stop: async () => {
      await Promise.all(opened.map((open) => open.close()));
      await sandbox.stop();
    },
  };
}

export const syncId = (): string => randomUUID();
