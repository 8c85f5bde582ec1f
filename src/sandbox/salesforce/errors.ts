/** One entry of Salesforce's REST error body: a JSON array of `{message, errorCode, fields}` [S17]. */
export interface SfErrorBody {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** Thrown by handlers; the server's error handler renders it in Salesforce's shape. */
export class SalesforceApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }

  body(): SfErrorBody[] {
    return [{ message: this.message, errorCode: this.errorCode, ...(this.fields ? { fields: this.fields } : {}) }];
  }
}

/** A per-record failure inside a collection or bulk job (collections say `statusCode`, not `errorCode`). */
export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

export class RecordFailure extends Error {
  constructor(readonly error: RecordError) {
    super(error.message);
  }
}

export function recordError(statusCode: string, message: string, fields: string[] = []): RecordFailure {
  return new RecordFailure({ statusCode, message, fields });
}

export const notFound = (): SalesforceApiError => new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');

export const sessionExpired = (): SalesforceApiError => new SalesforceApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

/** Renders any JSON value for an error message without "[object Object]". */
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? 'undefined';
}
