import { unauthorized } from './errors';
import { parseSoapDocument, readOutboundMessage, sameSalesforceId } from './outbound-message';
import type { Verifier } from './verify';

/**
 * Outbound Messages carry no signature [S82]: the check Salesforce documents for the listener is
 * that the message's `OrganizationId` is the expected org. Credentials: `{ webhook: { organizationId } }`.
 * The org id is not a secret, so deployments add what the transport offers: Salesforce's client
 * certificate (mutual TLS at the proxy in front of the shim) and its published IP ranges
 * (docs/operations.md). A replay can only repeat notices: they name records, which the workflow
 * reads from Salesforce itself, and repeated notification ids are dropped there.
 */
export const verifySalesforce: Verifier = ({ document, rawBody, secrets }) => {
  const expected = secrets.organizationId;
  if (!expected) throw unauthorized('webhook_not_configured', 'No Salesforce organization id is configured for this connection.');
  const { organizationId } = readOutboundMessage(document ? document() : parseSoapDocument(rawBody));
  if (!sameSalesforceId(organizationId, expected)) {
    throw unauthorized('organization_mismatch', "The message's OrganizationId is not this connection's Salesforce org.");
  }
};
