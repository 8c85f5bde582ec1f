import type { ConnectorRegistry } from '../connectors/registry';
import type { ConnectionsRepository } from '../store/connections-repository';

/** What an activity reads of its connections: their rows and their connectors. */
export interface ConnectionReads {
  connections: Pick<ConnectionsRepository, 'getConnection'>;
  connectors: ConnectorRegistry;
}

/**
 * The connection rows and connectors of one activity run, each read once for the whole run. A
 * backfill page is applied in many slices, and each slice asked for the same rows again (three
 * primary-key reads a slice, a fifth of its round trips to PostgreSQL). An edit of a connection
 * still takes effect on the next activity, as the registry promises; within one run it is one
 * consistent view.
 */
export function readOncePerActivity<D extends ConnectionReads>(deps: D): Omit<D, keyof ConnectionReads> & ConnectionReads {
  const rows = new Map<string, ReturnType<ConnectionsRepository['getConnection']>>();
  const connectors = new Map<string, ReturnType<ConnectorRegistry['forConnection']>>();
  const once = <T>(cache: Map<string, T>, id: string, read: () => T): T => {
    let value = cache.get(id);
    if (value === undefined) cache.set(id, (value = read()));
    return value;
  };
  return {
    ...deps,
    connections: { getConnection: (id: string) => once(rows, id, () => deps.connections.getConnection(id)) },
    connectors: { forConnection: (id: string) => once(connectors, id, () => deps.connectors.forConnection(id)) },
  };
}
