import { ConnectorError } from '../../src/connectors/errors';

/** The ConnectorError a call fails with; fails the test if it succeeds or fails otherwise. */
export async function connectorFailure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
