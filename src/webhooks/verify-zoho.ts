import { unauthorized } from './errors';
import { safeEqual } from './secrets';
import type { Verifier } from './verify';

/**
 * Zoho signs nothing: the channel's `token` (set at `POST /actions/watch`, at most 50 characters)
 * is echoed in every callback body [Z12]. The shim compares it in constant time with the
 * connection's `{ webhook: { token } }`. A body that is not JSON carries no token.
 */
export const verifyZoho: Verifier = ({ rawBody, secrets }) => {
  const expected = secrets.token;
  if (!expected) throw unauthorized('webhook_not_configured', 'No notification channel token is configured for this connection.');
  let presented: unknown;
  try {
    presented = (JSON.parse(rawBody.toString('utf8')) as { token?: unknown } | null)?.token;
  } catch {
    presented = undefined;
  }
  if (typeof presented !== 'string' || presented === '') throw unauthorized('signature_missing', 'The callback must carry the channel token.');
  if (!safeEqual(presented, expected)) throw unauthorized('signature_invalid', 'The channel token does not match.');
};
