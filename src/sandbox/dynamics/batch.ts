import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { badQuery } from './errors';
import type { ODataResponse } from './render';

/**
 * `multipart/mixed` $batch bodies [D12], parsed and rendered as the Web API does: parts are
 * `application/http` messages, change sets are nested `multipart/mixed` parts with their own
 * boundary, and the response uses `batchresponse_`/`changesetresponse_` boundaries.
 */
export interface BatchRequestPart {
  contentId?: string;
  method: string;
  url: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export type BatchItem = { kind: 'request'; request: BatchRequestPart } | { kind: 'changeset'; requests: BatchRequestPart[] };

export type BatchResult =
  | { kind: 'response'; contentId?: string; response: ODataResponse }
  | { kind: 'changeset'; parts: { contentId?: string; response: ODataResponse }[] };

export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2]) : undefined;
}

/** Splits a header block (`Name: value` lines) into lower-cased names. */
function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Separates `head\r\n\r\nrest` (CRLF or bare LF, as hand-written clients send). */
function splitHead(text: string): { head: string[]; rest: string } {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text.split(/\r?\n/).filter((line) => line !== ''), rest: '' };
  return { head: text.slice(0, match.index).split(/\r?\n/), rest: text.slice(match.index + match[0].length) };
}

function splitParts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const segments = body.split(delimiter);
  const parts: string[] = [];
  // segments[0] is the preamble; the segment after the closing delimiter starts with "--".
  for (let i = 1; i < segments.length; i += 1) {
    const segment = segments[i] as string;
    if (segment.startsWith('--')) break;
    parts.push(segment.replace(/^\r?\n/, '').replace(/\r?\n$/, ''));
  }
  if (parts.length === 0 && !body.includes(delimiter)) throw badQuery(`The batch request body does not contain the boundary '${boundary}'.`);
  return parts;
}

function parseHttpPart(text: string, headers: Record<string, string>): BatchRequestPart {
  const { head, rest } = splitHead(text.replace(/^(\r?\n)+/, ''));
  const [requestLine = '', ...headerLines] = head;
  const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine.trim());
  if (!match) throw badQuery(`The request line '${requestLine}' in the batch is not a valid HTTP request line.`);
  const contentId = headers['content-id'];
  return {
    ...(contentId !== undefined ? { contentId } : {}),
    method: match[1] as string,
    url: match[2] as string,
    headers: parseHeaders(headerLines),
    body: rest.replace(/(\r?\n)+$/, ''),
  };
}

export function parseBatch(body: string, boundary: string): BatchItem[] {
  return splitParts(body, boundary).map((part) => {
    const { head, rest } = splitHead(part);
    const headers = parseHeaders(head);
    const contentType = headers['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(contentType)) {
      const inner = boundaryOf(contentType);
      if (!inner) throw badQuery('The change set has no boundary.');
      const requests = splitParts(rest, inner).map((changePart) => {
        const split = splitHead(changePart);
        return parseHttpPart(split.rest, parseHeaders(split.head));
      });
      return { kind: 'changeset', requests };
    }
    return { kind: 'request', request: parseHttpPart(rest, headers) };
  });
}

function headerName(name: string): string {
  const special: Record<string, string> = { 'odata-entityid': 'OData-EntityId', 'odata-version': 'OData-Version', etag: 'ETag' };
  return special[name] ?? name.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}

function renderHttpPart(contentId: string | undefined, response: ODataResponse): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push('', `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`, 'OData-Version: 4.0');
  for (const [name, value] of Object.entries(response.headers)) lines.push(`${headerName(name)}: ${value}`);
  lines.push('', response.body === undefined ? '' : JSON.stringify(response.body));
  return lines.join('\r\n');
}

/** Renders the response body and returns it with its content type. */
export function renderBatch(results: BatchResult[]): { contentType: string; body: string } {
  const boundary = `batchresponse_${randomUUID()}`;
  const chunks: string[] = [];
  for (const result of results) {
    if (result.kind === 'response') {
      chunks.push(`--${boundary}\r\n${renderHttpPart(result.contentId, result.response)}\r\n`);
      continue;
    }
    const inner = `changesetresponse_${randomUUID()}`;
    const parts = result.parts.map((part) => `--${inner}\r\n${renderHttpPart(part.contentId, part.response)}\r\n`).join('');
    chunks.push(`--${boundary}\r\nContent-Type: multipart/mixed; boundary=${inner}\r\n\r\n${parts}--${inner}--\r\n`);
  }
  chunks.push(`--${boundary}--\r\n`);
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: chunks.join('') };
}
