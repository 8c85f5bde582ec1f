import { createHmac, timingSafeEqual } from 'node:crypto';
import { unauthorized } from './errors';
import { headerValue } from './secrets';
import type { Verifier } from './verify';

/**
 * `X-Sfdc-Signature` = base64(HMAC-SHA256(secret, raw body)); `X-Sfdc-Timestamp` (epoch ms) must be
 * recent. The same time is `sentAt` inside the signed body (checked by the parser), so a replay
 * cannot refresh the header alone.
 */
export const verifySalesforce: Verifier = ({ rawBody, headers, secrets, now, toleranceMs }) => {
  const secret = secrets.secret;
  if (!secret) throw unauthorized('webhook_not_configured', 'No webhook secret is configured for this connection.');
  const signature = headerValue(headers, 'x-sfdc-signature');
  const timestamp = headerValue(headers, 'x-sfdc-timestamp');
  if (!signature || !timestamp) throw unauthorized('signature_missing', 'X-Sfdc-Signature and X-Sfdc-Timestamp are required.');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const presented = Buffer.from(signature, 'base64');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw unauthorized('signature_invalid', 'The X-Sfdc-Signature does not match the body.');
  }
  const sentAt = Number(timestamp);
  if (!Number.isFinite(sentAt) || Math.abs(now - sentAt) > toleranceMs) {
    throw unauthorized('signature_expired', 'X-Sfdc-Timestamp is outside the accepted window.');
  }
};
