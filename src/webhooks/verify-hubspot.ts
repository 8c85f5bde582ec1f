import { createHmac, timingSafeEqual } from 'node:crypto';
import { unauthorized } from './errors';
import { headerValue } from './secrets';
import type { Verifier } from './verify';

/**
 * HubSpot signature v3: base64(HMAC-SHA256(app client secret, method + URI + body + timestamp)),
 * timestamp in epoch ms from `X-HubSpot-Request-Timestamp`.
 */
export function hubspotSignatureV3(clientSecret: string, method: string, uri: string, body: Buffer | string, timestamp: string): Buffer {
  return createHmac('sha256', clientSecret)
    .update(`${method.toUpperCase()}${uri}`)
    .update(body)
    .update(timestamp)
    .digest();
}

/**
 * HubSpot decodes these escapes in the URI before signing; a URI without them is unchanged.
 * (From HubSpot's "Validating requests" page; the sandbox signs the URL as configured.)
 */
const DECODED: Record<string, string> = { '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';' };
export function hubspotCanonicalUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => DECODED[escape.toUpperCase()] ?? escape);
}

export const verifyHubSpot: Verifier = ({ rawBody, headers, method, uri, secrets, now, toleranceMs }) => {
  const secret = secrets.secret;
  if (!secret) throw unauthorized('webhook_not_configured', 'No webhook client secret is configured for this connection.');
  const signature = headerValue(headers, 'x-hubspot-signature-v3');
  const timestamp = headerValue(headers, 'x-hubspot-request-timestamp');
  if (!signature || !timestamp) throw unauthorized('signature_missing', 'X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required.');
  const presented = Buffer.from(signature, 'base64');
  const candidates = new Set([uri, hubspotCanonicalUri(uri)]);
  let valid = false;
  for (const candidate of candidates) {
    const expected = hubspotSignatureV3(secret, method, candidate, rawBody, timestamp);
    // Every candidate is compared (no early exit), each in constant time.
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) valid = true;
  }
  if (!valid) throw unauthorized('signature_invalid', 'The X-HubSpot-Signature-v3 does not match the request.');
  const sentAt = Number(timestamp);
  if (!Number.isFinite(sentAt) || Math.abs(now - sentAt) > toleranceMs) {
    throw unauthorized('signature_expired', 'X-HubSpot-Request-Timestamp is more than 5 minutes away.');
  }
};
