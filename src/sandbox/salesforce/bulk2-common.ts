import { SalesforceApiError, show } from './errors';

/** Bulk API 2.0 job states [S10]. */
export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

export const DELIMITERS: Record<string, string> = { COMMA: ',', TAB: '\t', PIPE: '|', SEMICOLON: ';', CARET: '^', BACKQUOTE: '`' };

export interface CsvFormat {
  columnDelimiter: string;
  lineEnding: 'LF' | 'CRLF';
}

export function csvFormat(body: { columnDelimiter?: unknown; lineEnding?: unknown }): CsvFormat {
  const columnDelimiter = body.columnDelimiter === undefined ? 'COMMA' : show(body.columnDelimiter);
  const lineEnding = body.lineEnding === undefined ? 'LF' : show(body.lineEnding);
  if (!(columnDelimiter in DELIMITERS)) throw jobError(400, 'INVALIDJOB', `Invalid column delimiter: ${columnDelimiter}`);
  if (lineEnding !== 'LF' && lineEnding !== 'CRLF') throw jobError(400, 'INVALIDJOB', `Invalid line ending: ${lineEnding}`);
  return { columnDelimiter, lineEnding };
}

/** Bulk 2.0 errors use the REST array shape `[{errorCode, message}]`. */
export function jobError(status: number, errorCode: string, message: string): SalesforceApiError {
  return new SalesforceApiError(status, errorCode, message);
}

export const TERMINAL: JobState[] = ['JobComplete', 'Failed', 'Aborted'];

export function nextTick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
