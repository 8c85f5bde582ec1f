import { unauthorized } from './errors';
import { headerValue, safeEqual } from './secrets';
import type { Verifier } from './verify';

/**
 * Pipedrive signs nothing: a webhook v2 subscription carries `http_auth_user` / `http_auth_password`
 * and every delivery sends them as HTTP Basic auth [P4]. Credentials: `{ webhook: { user, password } }`.
 * Both parts are compared in constant time, and both always, so timing tells nothing about which failed.
 */
export const verifyPipedrive: Verifier = ({ headers, secrets }) => {
  const { user, password } = secrets;
  if (!user || !password) throw unauthorized('webhook_not_configured', 'No webhook user and password are configured for this connection.');
  const presented = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(headerValue(headers, 'authorization') ?? '')?.[1];
  if (!presented) throw unauthorized('signature_missing', 'HTTP Basic authorization is required.');
  const decoded = Buffer.from(presented, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const userMatches = safeEqual(colon < 0 ? decoded : decoded.slice(0, colon), user);
  const passwordMatches = safeEqual(colon < 0 ? '' : decoded.slice(colon + 1), password);
  if (!userMatches || !passwordMatches) throw unauthorized('signature_invalid', 'The webhook credentials do not match.');
};
