import { randomUUID } from 'node:crypto';
import { createPipedriveConnector, type PipedriveConnector, type PipedriveConnectorOptions } from '../../../src/connectors/pipedrive';
import type { PipedriveSandbox } from '../../../src/sandbox/pipedrive';

/** A connector on the sandbox's API token, limits off on the client side unless given. */
export function connectorFor(pd: PipedriveSandbox, options: Partial<PipedriveConnectorOptions> = {}): Promise<PipedriveConnector> {
  return createPipedriveConnector({
    connectionId: `pd-${randomUUID()}`,
    apiDomain: pd.url,
    auth: { kind: 'api-token', apiToken: pd.credentials.apiToken },
    rateLimits: false,
    ...options,
  });
}
