import type { CrmProvider } from '../model/identifiers';
import { ConnectorError } from './errors';

/** What every connector cursor carries: the verb it belongs to (each connector keeps its own cursor types). */
export interface KindTaggedCursor {
  kind: string;
}

/**
 * Cursors are opaque to callers (they cross Temporal history as strings); inside, base64url JSON
 * with a kind, so a cursor handed to the wrong verb fails loudly instead of reading the wrong thing.
 */
export function encodeCursor<T extends KindTaggedCursor>(state: T): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

/**
 * The state inside a cursor this connector wrote for `kind`. Anything else (not base64url JSON, or
 * another verb's cursor) is a validation ConnectorError: retrying cannot make it readable.
 */
export function decodeCursor<T extends KindTaggedCursor>(provider: CrmProvider, cursor: string, kind: T['kind']): T {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    state = undefined;
  }
  if (typeof state !== 'object' || state === null || (state as { kind?: unknown }).kind !== kind) {
    throw new ConnectorError({ provider, errorClass: 'validation', message: `not a ${kind} cursor of this connector` });
  }
  return state as T;
}
