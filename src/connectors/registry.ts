import type { CrmConnector } from './connector';

/**
 * Where activities get a connection's connector: built once per worker from the stored connection
 * (provider, settings, sealed credentials) and cached, so its token and rate budget are shared by
 * every activity on the worker. Implemented by `createConnectorRegistry` once every vendor's
 * factory is wired; tests may hand in connectors built against the sandboxes.
 */
export interface ConnectorRegistry {
  forConnection(connectionId: string): Promise<CrmConnector>;
}

/** A registry over connectors already built (tests, the demo). */
export function staticConnectorRegistry(connectors: Readonly<Record<string, CrmConnector>>): ConnectorRegistry {
  return {
    async forConnection(connectionId) {
      const connector = connectors[connectionId];
      if (!connector) throw new Error(`no connector for connection "${connectionId}"`);
      return connector;
    },
  };
}
