/**
 * Pipedrive's error envelope: `{ success: false, error, error_info, data: null, additional_data: null }`
 * [P1]. Authentication failures also carry `errorCode`. The 429 body is UNCONFIRMED in the facts
 * [P3]; the sandbox uses the same envelope with `errorCode: 429`.
 */
export interface PipedriveErrorBody {
  success: false;
  error: string;
  error_info: string;
  errorCode?: number;
  code?: string;
  data: null;
  additional_data: null;
}

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';

export class PipedriveError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: PipedriveErrorBody,
  ) {
    super(body.error);
  }
}

export function errorBody(error: string, extra: { errorCode?: number; code?: string } = {}): PipedriveErrorBody {
  return { success: false, error, error_info: ERROR_INFO, ...extra, data: null, additional_data: null };
}

export const unauthorized = (): PipedriveError => new PipedriveError(401, errorBody('unauthorized access', { errorCode: 401 }));
export const notFound = (singular: string): PipedriveError => new PipedriveError(404, errorBody(`${singular.charAt(0).toUpperCase()}${singular.slice(1)} not found`, { code: 'ERR_NOT_FOUND' }));
/** v2 validation failures name the parameter (code UNCONFIRMED beyond the message shape). */
export const validation = (message: string): PipedriveError => new PipedriveError(400, errorBody(message, { code: 'ERR_SCHEMA_VALIDATION_FAILED' }));
export const rateLimited = (message: string): PipedriveErrorBody => errorBody(message, { errorCode: 429 });
export const serverError = (): PipedriveErrorBody => errorBody('Internal server error', { errorCode: 500 });
