import { unauthorized } from './errors';
import { headerValue, safeEqual } from './secrets';
import type { Verifier } from './verify';

/**
 * Dataverse signs nothing: a service endpoint authenticates with a shared key, either `WebhookKey`
 * (`?code=<key>` on the URL) or `HttpHeader` (a named header). Credentials: `{ webhook: { key } }`
 * for WebhookKey, `{ webhook: { key, header } }` for HttpHeader.
 */
export const verifyDynamics: Verifier = ({ headers, uri, secrets }) => {
  const key = secrets.key;
  if (!key) throw unauthorized('webhook_not_configured', 'No webhook key is configured for this connection.');
  const presented = secrets.header ? headerValue(headers, secrets.header) : new URL(uri).searchParams.get('code') ?? undefined;
  if (!presented) throw unauthorized('signature_missing', secrets.header ? `The ${secrets.header} header is required.` : 'The code query parameter is required.');
  if (!safeEqual(presented, key)) throw unauthorized('signature_invalid', 'The webhook key does not match.');
};
