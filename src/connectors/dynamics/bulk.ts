import { randomUUID } from 'node:crypto';
import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { DeleteOutcome, UpsertInput, UpsertOutcome } from '../connector';
import { ConnectorError, type ConnectorErrorInfo } from '../errors';
import { diffLinks, type ConnectionSlots } from './connection-slots';
import { dataverseFailureInfo } from './errors';
import type { DataverseHttp } from './http';
import { isGuid, regardingBind, toPayload, upsertPath } from './record-mapper';
import type { DynamicsSpec } from './spec';
import type { ReadContext } from './changes';
import { deleteActivities, upsertActivities } from './activity-writes';

export interface WriteContext {
  http: DataverseHttp;
  spec: DynamicsSpec;
  mapping: CompiledMapping;
  /** Requests per `$batch`, at most spec.batch.maxRequests. */
  batchSize: number;
  links: ConnectionSlots;
  /** The read side, for what a write must look up first (an activity's table and parties). */
  read: ReadContext;
}

export interface BatchPart {
  index: number;
  method: string;
  url: string;
  body: string;
  /**
   * `If-Match` on an update of a linked record: `*` never re-creates one deleted meanwhile; the
   * ETag of the copy the engine read also refuses a write over someone's edit made since [D8].
   */
  ifMatch?: string | undefined;
}

export interface PartResponse {
  contentId: string | undefined;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Upserts through `$batch` [D12], one alternate-key PATCH per record. Each PATCH is its own
 * top-level part, not a member of a change set: a change set is atomic, so one bad row would roll
 * back every row beside it. `Prefer: odata.continue-on-error` keeps the batch going past a failed
 * part, and each part asks for its representation so 201 (created) and 200 (updated) tell apart.
 */
export async function upsertThroughBatch(context: WriteContext, objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> {
  if (objectType === 'activity') return upsertActivities(context, inputs);
  const { spec, mapping } = context;
  const entity = spec.objects[objectType];
  const outcomes: (UpsertOutcome | undefined)[] = new Array<UpsertOutcome | undefined>(inputs.length);
  const parts: BatchPart[] = [];
  inputs.forEach((input, index) => {
    try {
      const body = JSON.stringify(toPayload(spec, mapping, objectType, input));
      const select = `$select=${entity.primaryId},${spec.systemColumns.modifiedOn}`;
      // A PATCH by id creates the record when it is gone [D7]: a record deleted in Dataverse while
      // we wrote it would come back. `If-Match: *` makes that a 404 instead.
      const updateOnly = Boolean(input.externalId && isGuid(input.externalId));
      parts.push({ index, method: 'PATCH', url: `${context.http.serviceRoot}/${upsertPath(spec, entity, input)}?${select}`, body, ifMatch: updateOnly ? (input.ifVersion ?? '*') : undefined });
    } catch (error) {
      // A value the mapping cannot express never reaches the vendor; the record is parked.
      outcomes[index] = { syncId: input.syncId, status: 'failed', error: failureInfo('validation', error) };
    }
  });

  const size = Math.max(1, Math.min(context.batchSize, spec.batch.maxRequests));
  for (let start = 0; start < parts.length; start += size) {
    const chunk = parts.slice(start, start + size);
    const responses = await sendBatch(context, chunk);
    const byId = new Map(responses.map((response, position) => [response.contentId ?? String(position + 1), response]));
    chunk.forEach((part, position) => {
      const input = inputs[part.index] as UpsertInput;
      const response = byId.get(String(position + 1));
      outcomes[part.index] = response ? outcomeOf(spec, entity.primaryId, input, response) : notExecuted(input);
    });
  }
  const settled = outcomes.map((outcome, index) => outcome ?? notExecuted(inputs[index] as UpsertInput));
  const linked = await writeLinks(context, objectType, inputs, settled);
  return linked.map((outcome, index) => withDroppedRegarding(spec, objectType, inputs[index] as UpsertInput, outcome));
}

/**
 * A task's regarding holds one record: a deal and a company both given, the deal is written and the
 * company is said in `adjusted` (`references.company`), never dropped silently.
 */
function withDroppedRegarding(spec: DynamicsSpec, objectType: ObjectType, input: UpsertInput, outcome: UpsertOutcome): UpsertOutcome {
  const regarding = spec.objects[objectType].regarding;
  if (!regarding || (outcome.status !== 'created' && outcome.status !== 'updated')) return outcome;
  const { dropped } = regardingBind(regarding, input.references ?? {});
  return dropped.length === 0 ? outcome : { ...outcome, adjusted: [...(outcome.adjusted ?? []), ...dropped.map((slot) => `references.${slot}`)] };
}

/**
 * A connection slot given is made to hold exactly that set: current links read for every written
 * record at once, then one `$batch` of connection creates and deletes [D29][D30]. A record whose
 * links could not all be written is `failed` (its row was written; a retry converges).
 */
async function writeLinks(context: WriteContext, objectType: ObjectType, inputs: readonly UpsertInput[], outcomes: UpsertOutcome[]): Promise<UpsertOutcome[]> {
  const slot = context.links.slotOf(objectType);
  if (!slot) return outcomes;
  const targets = new Map<string, { index: number; wanted: string[] }>();
  inputs.forEach((input, index) => {
    const wanted = input.references?.[slot.slot];
    const outcome = outcomes[index] as UpsertOutcome;
    if (!Array.isArray(wanted) || (outcome.status !== 'created' && outcome.status !== 'updated')) return;
    targets.set(outcome.externalId.toLowerCase(), { index, wanted });
  });
  if (targets.size === 0) return outcomes;
  const role = await context.links.roleId(slot);
  const current = await context.links.read(slot, [...targets.keys()]);
  const parts: (BatchPart & { recordId: string })[] = [];
  for (const [recordId, { wanted }] of targets) {
    const { create, remove } = diffLinks(current.get(recordId) ?? [], wanted.filter(isGuid));
    for (const related of create) {
      const body = {
        [`${slot.record1Navigation}@odata.bind`]: `/${context.spec.objects[objectType].entitySet}(${recordId})`,
        [`${slot.record2Navigation}@odata.bind`]: `/${slot.record2Set}(${related})`,
        'record2roleid@odata.bind': `/connectionroles(${role})`,
      };
      parts.push({ index: parts.length, recordId, method: 'POST', url: `${context.http.serviceRoot}/connections?$select=connectionid,modifiedon`, body: JSON.stringify(body) });
    }
    for (const link of remove) parts.push({ index: parts.length, recordId, method: 'DELETE', url: `${context.http.serviceRoot}/connections(${link.connectionId})`, body: '' });
  }
  const result = [...outcomes];
  const size = Math.max(1, Math.min(context.batchSize, context.spec.batch.maxRequests));
  for (let start = 0; start < parts.length; start += size) {
    const chunk = parts.slice(start, start + size);
    const responses = await sendBatch(context, chunk);
    const byId = new Map(responses.map((response, position) => [response.contentId ?? String(position + 1), response]));
    chunk.forEach((part, position) => {
      const target = targets.get(part.recordId);
      const outcome = target ? result[target.index] : undefined;
      if (!target || !outcome || (outcome.status !== 'created' && outcome.status !== 'updated')) return;
      const response = byId.get(String(position + 1));
      // A link already gone is what a delete wants.
      if (response && ((response.status >= 200 && response.status < 300) || (part.method === 'DELETE' && response.status === 404))) {
        const stamp = linkStamp(response.body);
        if (stamp && (!outcome.modifiedAt || stamp > outcome.modifiedAt)) result[target.index] = { ...outcome, modifiedAt: stamp };
        return;
      }
      result[target.index] = { syncId: outcome.syncId, status: 'failed', error: response ? dataverseFailureInfo(response.status || 500, response.body, response.headers) : notExecutedInfo() };
    });
  }
  return result;
}

function linkStamp(body: string): string | undefined {
  try {
    const modifiedOn = (JSON.parse(body) as { modifiedon?: unknown }).modifiedon;
    return typeof modifiedOn === 'string' ? new Date(Date.parse(modifiedOn)).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

export async function sendBatch(context: WriteContext, chunk: readonly BatchPart[]): Promise<PartResponse[]> {
  const boundary = `batch_${randomUUID()}`;
  const lines: string[] = [];
  chunk.forEach((part, position) => {
    lines.push(
      `--${boundary}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      `Content-ID: ${position + 1}`,
      '',
      `${part.method} ${part.url} HTTP/1.1`,
      'Content-Type: application/json; type=entry',
      'Prefer: return=representation',
      ...(part.ifMatch ? [`If-Match: ${part.ifMatch}`] : []),
      '',
      part.body,
    );
  });
  lines.push(`--${boundary}--`, '');
  // Execute batch operations: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api [D12]
  const response = await context.http.send({
    method: 'POST',
    url: '$batch',
    headers: { 'content-type': `multipart/mixed; boundary=${boundary}`, prefer: 'odata.continue-on-error' },
    body: lines.join('\r\n'),
  });
  const responseBoundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(response.headers['content-type'] ?? '');
  const name = responseBoundary?.[1] ?? responseBoundary?.[2];
  if (!name) throw new ConnectorError({ provider: 'dynamics', errorClass: 'transient', status: response.status, message: 'the $batch response is not multipart/mixed' });
  return parseMultipart(response.text, name);
}

/** Parses a `multipart/mixed` batch response, descending into change-set responses. */
export function parseMultipart(text: string, boundary: string): PartResponse[] {
  const out: PartResponse[] = [];
  const segments = text.split(`--${boundary}`);
  for (let i = 1; i < segments.length; i += 1) {
    const segment = segments[i] as string;
    if (segment.startsWith('--')) break;
    const { head, rest } = splitHead(segment.replace(/^\r?\n/, ''));
    const headers = parseHeaders(head);
    const type = headers['content-type'] ?? '';
    const inner = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
    if (/^multipart\/mixed/i.test(type) && inner) {
      out.push(...parseMultipart(rest, (inner[1] ?? inner[2]) as string));
      continue;
    }
    const http = splitHead(rest.replace(/^(\r?\n)+/, ''));
    const [statusLine = '', ...headerLines] = http.head;
    const status = Number(/^HTTP\/1\.[01]\s+(\d{3})/.exec(statusLine.trim())?.[1] ?? 0);
    out.push({ contentId: headers['content-id'], status, headers: parseHeaders(headerLines), body: http.rest.replace(/(\r?\n)+$/, '') });
  }
  return out;
}

function splitHead(text: string): { head: string[]; rest: string } {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text.split(/\r?\n/).filter((line) => line !== ''), rest: '' };
  return { head: text.slice(0, match.index).split(/\r?\n/), rest: text.slice(match.index + match[0].length) };
}

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function outcomeOf(spec: DynamicsSpec, primaryId: string, input: UpsertInput, response: PartResponse): UpsertOutcome {
  // 412 to our If-Match: the row has another version now [D8].
  if (response.status === 412 && input.ifVersion) return { syncId: input.syncId, status: 'version-changed' };
  if (response.status >= 400 || response.status === 0) {
    return { syncId: input.syncId, status: 'failed', error: dataverseFailureInfo(response.status || 500, response.body, response.headers) };
  }
  let body: Record<string, unknown>;
  try {
    body = response.body.trim() === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>);
  } catch {
    body = {};
  }
  const entityId = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(response.headers['odata-entityid'] ?? '')?.[1];
  const returnedId = body[primaryId];
  const externalId = typeof returnedId === 'string' ? returnedId : (entityId ?? input.externalId ?? '');
  const modifiedOn = body[spec.systemColumns.modifiedOn];
  return {
    syncId: input.syncId,
    // 201 = created, 200 = updated [D7]; a bare 204 (no representation) cannot say which.
    status: response.status === 201 ? 'created' : 'updated',
    externalId: externalId.toLowerCase(),
    ...(typeof modifiedOn === 'string' ? { modifiedAt: new Date(Date.parse(modifiedOn)).toISOString() } : {}),
  };
}

export function notExecuted(input: UpsertInput): UpsertOutcome {
  return { syncId: input.syncId, status: 'failed', error: notExecutedInfo() };
}

export function notExecutedInfo(): ConnectorErrorInfo {
  return { provider: 'dynamics', errorClass: 'transient', message: 'the $batch ended before this request ran' };
}

export function failureInfo(errorClass: ConnectorErrorInfo['errorClass'], error: unknown): ConnectorErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  const field = (error as { field?: unknown }).field;
  return { provider: 'dynamics', errorClass, message, ...(typeof field === 'string' ? { fieldErrors: [{ field, message }] } : {}) };
}

/**
 * Deletes through `$batch`, one top-level DELETE part per record (continue-on-error, like the
 * upserts): 204 deleted, 404 already gone. Dataverse deletes are hard unless the org keeps a
 * recycle bin [D13].
 */
export async function deleteThroughBatch(context: WriteContext, objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  if (objectType === 'activity') return deleteActivities(context, externalIds);
  const entity = context.spec.objects[objectType];
  const parts: BatchPart[] = externalIds.map((id, index) => ({ index, method: 'DELETE', url: `${context.http.serviceRoot}/${entity.entitySet}(${id})`, body: '' }));
  const outcomes: DeleteOutcome[] = [];
  const size = Math.max(1, Math.min(context.batchSize, context.spec.batch.maxRequests));
  for (let start = 0; start < parts.length; start += size) {
    const chunk = parts.slice(start, start + size);
    const responses = await sendBatch(context, chunk);
    const byId = new Map(responses.map((response, position) => [response.contentId ?? String(position + 1), response]));
    chunk.forEach((part, position) => {
      const externalId = externalIds[part.index] as string;
      const response = byId.get(String(position + 1));
      if (response && response.status >= 200 && response.status < 300) outcomes.push({ externalId, status: 'deleted' });
      else if (response?.status === 404) outcomes.push({ externalId, status: 'not-found' });
      else outcomes.push({ externalId, status: 'failed', error: response ? dataverseFailureInfo(response.status || 500, response.body, response.headers) : notExecutedInfo() });
    });
  }
  return outcomes;
}
