import { parseBatch, type BatchRequestPart, type BatchResult } from './batch';
import { badQuery, DataverseError, ErrorCodes } from './errors';
import { executeOperation, type OperationContext } from './operations';
import { parsePrefer } from './prefer';
import { JSON_CONTENT_TYPE, type ODataResponse } from './render';

export const MAX_BATCH_REQUESTS = 1000;
const API_PATH = /^(?:https?:\/\/[^/]+)?\/?api\/data\/v9\.[0-9]\//i;

export interface BatchOutcome {
  /** 200, or the failing part's status when the batch stopped at an error. */
  status: number;
  results: BatchResult[];
}

export function errorResponse(error: unknown): ODataResponse {
  const fault = error instanceof DataverseError ? error : new DataverseError(500, ErrorCodes.unexpected, error instanceof Error ? error.message : String(error));
  return { status: fault.status, headers: { 'content-type': JSON_CONTENT_TYPE, ...fault.headers }, body: fault.body() };
}

/** `$1/...` -> the URL of the record created by Content-ID 1; otherwise strips the service root. */
function resolveUrl(url: string, references: ReadonlyMap<string, string>): string {
  const reference = /^(\$[^/?]+)(.*)$/.exec(url);
  if (reference) {
    const target = references.get(reference[1] as string);
    if (!target) throw badQuery(`Content-ID Reference: '${reference[1]}' does not exist in the batch context.`);
    return `${target}${reference[2] ?? ''}`.replace(API_PATH, '');
  }
  return url.replace(API_PATH, '');
}

function runPart(context: OperationContext, part: BatchRequestPart, references: ReadonlyMap<string, string>): ODataResponse {
  const resolved = resolveUrl(part.url, references);
  const question = resolved.indexOf('?');
  const path = question === -1 ? resolved : resolved.slice(0, question);
  const query = new URLSearchParams(question === -1 ? '' : resolved.slice(question + 1));
  let body: unknown;
  if (part.body.trim() !== '') {
    try {
      body = JSON.parse(part.body);
    } catch {
      throw badQuery('The request body of a batch part is not valid JSON.');
    }
  }
  return executeOperation({ ...context, references }, { method: part.method, path, query, headers: part.headers, body });
}

/**
 * Runs a parsed $batch [D12]: parts in order; each change set in one store transaction, so one
 * failing request rolls the whole change set back. Without `Prefer: odata.continue-on-error`
 * the batch stops at the first failure, as Dataverse does.
 */
export function executeBatch(context: OperationContext, rawBody: string, boundary: string, preferHeader: string | undefined): BatchOutcome {
  const items = parseBatch(rawBody, boundary);
  const total = items.reduce((sum, item) => sum + (item.kind === 'request' ? 1 : item.requests.length), 0);
  if (total > MAX_BATCH_REQUESTS) {
    throw new DataverseError(400, ErrorCodes.odataQuery, `The number of requests in a batch exceeds the maximum of ${MAX_BATCH_REQUESTS}.`);
  }
  for (const item of items) {
    if (item.kind === 'changeset' && item.requests.some((request) => request.method === 'GET')) {
      throw badQuery('GET requests are not allowed inside a change set.');
    }
  }
  const continueOnError = parsePrefer(preferHeader).continueOnError;
  const results: BatchResult[] = [];
  for (const item of items) {
    let failed: ODataResponse | undefined;
    if (item.kind === 'request') {
      let response: ODataResponse;
      try {
        response = runPart(context, item.request, new Map());
      } catch (error) {
        response = errorResponse(error);
      }
      results.push({ kind: 'response', ...(item.request.contentId !== undefined ? { contentId: item.request.contentId } : {}), response });
      if (response.status >= 400) failed = response;
    } else {
      const references = new Map<string, string>();
      let failingId: string | undefined;
      try {
        const parts = context.store.transaction(() =>
          item.requests.map((request) => {
            failingId = request.contentId;
            const response = runPart(context, request, references);
            const entityId = response.headers['odata-entityid'];
            if (request.contentId !== undefined && entityId) references.set(`$${request.contentId}`, entityId);
            return { ...(request.contentId !== undefined ? { contentId: request.contentId } : {}), response };
          }),
        );
        results.push({ kind: 'changeset', parts });
      } catch (error) {
        // A failed change set answers with the single failing response; nothing of it persists.
        failed = errorResponse(error);
        results.push({ kind: 'response', ...(failingId !== undefined ? { contentId: failingId } : {}), response: failed });
      }
    }
    if (failed && !continueOnError) return { status: failed.status, results };
  }
  return { status: 200, results };
}
