import { randomUUID } from 'node:crypto';
import { createZohoConnector, type ZohoConnector, type ZohoConnectorOptions } from '../../../src/connectors/zoho';
import type { ZohoSandbox } from '../../../src/sandbox/zoho';

/** A connector for the sandbox's account, configured as a stored connection would be (region + accounts server). */
export function connectTo(sandbox: ZohoSandbox, options: Partial<ZohoConnectorOptions> = {}): Promise<ZohoConnector> {
  return createZohoConnector({
    connectionId: `zoho-${randomUUID()}`,
    region: sandbox.region,
    accountsServer: sandbox.credentials.accountsServer,
    // The API domain is learnt from the token response, as in production.
    apiDomain: 'http://127.0.0.1:9',
    credentials: { clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret, refreshToken: sandbox.credentials.refreshToken },
    rateLimits: false,
    ...options,
  });
}
