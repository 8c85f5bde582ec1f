/**
 * Cursors cross Temporal history as opaque strings; only this connector reads them. Base64url
 * JSON with a kind tag, so a cursor from one path is refused by another with a clear message.
 */
export function encodeCursor<T extends { kind: string }>(state: T): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

export function decodeCursor<T extends { kind: string }>(cursor: string, kind: T['kind']): T {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new Error(`not a HubSpot ${kind} cursor: ${cursor.slice(0, 40)}`);
  }
  if (typeof state !== 'object' || state === null || (state as { kind?: unknown }).kind !== kind) {
    throw new Error(`not a HubSpot ${kind} cursor: ${cursor.slice(0, 40)}`);
  }
  return state as T;
}
