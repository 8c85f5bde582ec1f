/**
 * Zoho CRM's error envelope `{code, details, message, status: "error"}` [Z4]: top level for a
 * refused call, and per entry of `data[]` for a refused record.
 */
export interface ZohoErrorBody {
  code: string;
  details: Record<string, unknown>;
  message: string;
  status: 'error';
}

/** Thrown anywhere in a request; the server's error handler renders it as Zoho would. */
export class ZohoError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ZohoErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ZohoErrorBody {
  return { code, details, message, status: 'error' };
}

/** [Z4]: the body is sourced; the 401 status is UNCONFIRMED (the most plausible). */
export function invalidToken(): ZohoError {
  return new ZohoError(401, errorBody('INVALID_TOKEN', 'invalid oauth token'));
}

export function invalidModule(module: string): ZohoError {
  return new ZohoError(400, errorBody('INVALID_MODULE', 'the module name given seems to be invalid', { module }));
}

export function invalidUrl(): ZohoError {
  return new ZohoError(404, errorBody('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one'));
}

export function requiredParam(param: string): ZohoError {
  return new ZohoError(400, errorBody('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param }));
}

export function invalidParam(param: string, message: string): ZohoError {
  return new ZohoError(400, errorBody('INVALID_DATA', message, { param }));
}

/** More than 100 records in one write (secondary [Z6]; the code is UNCONFIRMED). */
export function tooManyRecords(limit: number): ZohoError {
  return new ZohoError(400, errorBody('LIMIT_REACHED', `a maximum of ${limit} records can be sent in one call`, { limit }));
}
