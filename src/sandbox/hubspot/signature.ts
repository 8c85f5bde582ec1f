import { createHash, createHmac } from 'node:crypto';

/**
 * v3: base64(HMAC-SHA256(clientSecret, method + URI + body + timestamp)) [H29]. The URI is the
 * delivery URL exactly as configured (HubSpot's decoding of some characters is unconfirmed [H30]).
 */
export function signV3(clientSecret: string, method: string, uri: string, body: string, timestamp: number): string {
  return createHmac('sha256', clientSecret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

/** v1: hex(SHA-256(clientSecret + body)) [H27], still sent alongside v3. */
export function signV1(clientSecret: string, body: string): string {
  return createHash('sha256').update(clientSecret + body).digest('hex');
}
