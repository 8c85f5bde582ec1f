import { ConnectorError } from '../errors';

/** Cursors are opaque to callers: base64url JSON that only this connector reads. */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T extends object>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value)) throw new ConnectorError({ provider: 'salesforce', errorClass: 'validation', message: 'not a Salesforce connector cursor' });
  return value;
}
