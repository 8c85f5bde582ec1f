import type { ChangeEventRead, ChangeEventReadRequest } from '../connectors/connector';
import { ConnectorError } from '../connectors/errors';
import type { ConnectorRegistry } from '../connectors/registry';

export interface ReadChangeEventsInput extends ChangeEventReadRequest {
  connectionId: string;
}

/**
 * The connection's change log (Salesforce CDC, HubSpot's webhooks journal), read from the position the workflow keeps. Short:
 * it waits a few seconds at most, and a stale position is an answer (`replay-invalid`), not a
 * failure to retry.
 */
export function createChangeEventActivities(deps: { connectors: ConnectorRegistry }) {
  return {
    async readChangeEvents(input: ReadChangeEventsInput): Promise<ChangeEventRead> {
      const connector = await deps.connectors.forConnection(input.connectionId);
      if (!connector.changeEvents) {
        throw new ConnectorError({
          provider: connector.provider,
          errorClass: 'validation',
          message: `connection ${input.connectionId} has no change event feed: settings.sync.changeEvents 'cdc' needs a Salesforce connection with settings.pubSub, 'journal' a HubSpot connection with settings.journal (and an OAuth app or credentials.journalApp)`,
        });
      }
      const { connectionId: _connectionId, ...request } = input;
      return connector.changeEvents.read(request);
    },
  };
}
