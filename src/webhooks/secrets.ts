import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string comparison. Both sides are hashed first so inputs of different lengths
 * take the same path (timingSafeEqual itself throws on a length mismatch).
 */
export function safeEqual(presented: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** One header value (first of repeated ones), or undefined. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/** The `webhook` part of a connection's unsealed credentials, when it holds string fields. */
export function webhookCredentials(credentials: Record<string, unknown>): Record<string, string> | undefined {
  const webhook = credentials.webhook;
  if (typeof webhook !== 'object' || webhook === null) return undefined;
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(webhook)) if (typeof value === 'string' && value !== '') result[key] = value;
  return result;
}
