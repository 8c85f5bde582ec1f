import { ConnectorError } from '../errors';

/**
 * Cursors are opaque to callers (they cross Temporal history as strings); inside, JSON with a
 * kind, so a cursor handed to the wrong verb fails loudly instead of reading the wrong thing.
 */
export function encodeCursor<T extends { kind: string }>(value: T): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T extends { kind: string }>(cursor: string, kind: T['kind']): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!value || typeof value !== 'object' || (value as { kind?: unknown }).kind !== kind) {
    throw new ConnectorError({ provider: 'zoho', errorClass: 'validation', message: `not a Zoho ${kind} cursor` });
  }
  return value as T;
}
