import type { FastifyRequest } from 'fastify';
import type { SandboxCounters } from '../core/counters';
import type { ModstampClock } from '../core/modstamp-clock';
import type { TokenStore } from './auth';
import { SalesforceApiError } from './errors';
import type { DailyRequestLimit } from './limits';
import { resolveTypeName, type SObjectType } from './schema';
import type { ChangeEventBus } from './pubsub/event-bus';
import type { ChangeOrigin, RecordStore } from './store';

/** What every route module needs: the org's state and its identities. */
export interface SalesforceContext {
  store: RecordStore;
  tokens: TokenStore;
  limits: DailyRequestLimit;
  counters: SandboxCounters;
  clock: ModstampClock;
  /** The org's clock (epoch ms): modstamps and the `Date` of every answer. */
  now: () => number;
  organizationId: string;
  /** The integration user the API client authenticates as. */
  apiUserId: string;
  /** The person who edits records in the UI (admin edits). */
  uiUserId: string;
  startedMs: number;
  /** Change Data Capture's event stream, served by the Pub/Sub API. */
  changeEvents: ChangeEventBus;
  /** Base URL, known once the server listens. */
  instanceUrl(): string;
}

export const MIN_VERSION = 20;
export const MAX_VERSION = 64;

/** `v62.0` -> `62.0`; unknown versions are a 404, as for any resource that does not exist. */
export function parseVersion(segment: string | undefined): string | undefined {
  const match = /^v(\d{2})\.0$/.exec(segment ?? '');
  if (!match) return undefined;
  const major = Number(match[1]);
  return major >= MIN_VERSION && major <= MAX_VERSION ? `${major}.0` : undefined;
}

export function requestVersion(request: FastifyRequest): string {
  return parseVersion((request.params as { version?: string }).version) ?? `${MAX_VERSION}.0`;
}

export function majorVersion(version: string): number {
  return Number(version.split('.')[0]);
}

/** The `client=` option of `Sforce-Call-Options`, which CDC reports in changeOrigin. */
export function callOptionsClient(request: FastifyRequest): string | undefined {
  const header = request.headers['sforce-call-options'];
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return undefined;
  for (const part of value.split(',')) {
    const [key, ...rest] = part.trim().split('=');
    if (key?.trim().toLowerCase() === 'client' && rest.length > 0) return rest.join('=').trim();
  }
  return undefined;
}

export function apiOrigin(context: SalesforceContext, request: FastifyRequest, kind: 'api' | 'bulk' = 'api'): ChangeOrigin {
  const client = callOptionsClient(request);
  return { kind, userId: context.apiUserId, apiVersion: requestVersion(request), ...(client ? { client } : {}) };
}

/** Resolves a type from a path; unknown types answer NOT_FOUND like the real sobjects resource. */
export function pathType(name: string): SObjectType {
  const type = resolveTypeName(name);
  if (!type) throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return type;
}
