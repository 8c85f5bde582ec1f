import { Client } from '@hubspot/api-client';
import { classifyTokenFailure, ConnectorError, networkFailure } from '../../errors';
import { SingleFlightTokenProvider, withFreshToken } from '../../token-provider';
import { classifyHubSpotFailure } from '../errors';
import type { JournalFile } from './notices';

/**
 * The webhooks journal (v4) and its subscription API over HTTP [H95]. The SDK 13.5 has no journal
 * module, so calls go through its generic `apiRequest`, under an app-level client-credentials token
 * of their own [H102] (a portal's access token is refused). No rate budget: the journal is exempt
 * from the daily and ten-secondly limits [H95].
 */

/** The journal's API version [H95]. */
const VERSION = '2026-03';
const SCOPES = ['developer.webhooks_journal.read', 'developer.webhooks_journal.subscriptions.read', 'developer.webhooks_journal.subscriptions.write'];

export interface JournalAppCredentials {
  clientId: string;
  clientSecret: string;
}

/** One entry of the journal as a read names it: where its file is, and the offset it stands at. */
export interface JournalEntryRef {
  currentOffset: string;
  url: string;
}

export interface ObjectSubscriptionRequest {
  subscriptionType: 'OBJECT';
  objectTypeId: string;
  actions: string[];
  properties: string[];
}

export interface AssociationSubscriptionRequest {
  subscriptionType: 'ASSOCIATION';
  objectTypeId: string;
  associatedObjectTypeIds: string[];
  actions: string[];
}

export class JournalClient {
  private readonly client: Client;
  private readonly tokens: SingleFlightTokenProvider;

  constructor(
    basePath: string,
    credentials: JournalAppCredentials,
    private readonly portalId: number,
    private readonly timeoutMs: number,
  ) {
    this.client = new Client({ basePath, numberOfApiCallRetries: 0 });
    this.tokens = new SingleFlightTokenProvider({
      provider: 'hubspot',
      refresh: async () => {
        // POST /oauth/v1/token, grant_type=client_credentials [H102]
        const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret, scope: SCOPES.join(' ') });
        const response = await this.send({ method: 'POST', path: '/oauth/v1/token', body: form.toString(), defaultJson: false, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
        const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; status?: string; message?: string };
        if (!response.ok || !body.access_token) {
          throw classifyTokenFailure('hubspot', [], { status: response.status, vendorCode: body.status, message: body.message ?? `HTTP ${response.status}` });
        }
        return { accessToken: body.access_token, expiresInMs: (body.expires_in ?? 1800) * 1000 };
      },
    });
  }

  /** The entry at the newest or the oldest end of the portal's (local) journal; undefined when it is empty (204). */
  async end(which: 'earliest' | 'latest'): Promise<JournalEntryRef | undefined> {
    return this.single(`/webhooks-journal/journal-local/${VERSION}/${which}`);
  }

  /** Up to `count` entries after `offset`; 'unknown-offset' when the journal no longer has it (404, past retention [H100]). */
  async after(offset: string, count: number): Promise<JournalEntryRef[] | { unknownOffset: string }> {
    const path = `/webhooks-journal/journal-local/${VERSION}/batch/${encodeURIComponent(offset)}/next/${count}`;
    const answer = await this.json<{ results?: JournalEntryRef[] }>('GET', path, undefined, { notFound: true });
    return answer.kind === 'not-found' ? { unknownOffset: answer.message } : (answer.body?.results ?? []);
  }

  /** The oldest `count` entries. */
  async first(count: number): Promise<JournalEntryRef[]> {
    const answer = await this.json<{ results?: JournalEntryRef[] }>('GET', `/webhooks-journal/journal-local/${VERSION}/batch/earliest/${count}`);
    return answer.kind === 'ok' ? (answer.body?.results ?? []) : [];
  }

  /** The file behind a read's presigned `url` (no bearer token). */
  async file(ref: JournalEntryRef): Promise<JournalFile> {
    const response = await this.send({ overlapUrl: ref.url, authType: 'none' });
    if (!response.ok) throw new ConnectorError({ provider: 'hubspot', errorClass: response.status >= 500 ? 'transient' : 'not-found', message: `journal file ${ref.currentOffset}: HTTP ${response.status}` });
    const body = (await response.json()) as Partial<JournalFile>;
    return { offset: typeof body.offset === 'string' ? body.offset : ref.currentOffset, journalEvents: Array.isArray(body.journalEvents) ? body.journalEvents : [] };
  }

  /** Creates or updates one subscription (the API upserts) [H101]. */
  async subscribe(request: ObjectSubscriptionRequest | AssociationSubscriptionRequest): Promise<void> {
    await this.json('POST', `/webhooks-journal/subscriptions/${VERSION}`, { ...request, portalId: this.portalId, objectIds: [] });
  }

  private async single(path: string): Promise<JournalEntryRef | undefined> {
    const answer = await this.json<JournalEntryRef>('GET', path);
    return answer.kind === 'ok' ? answer.body : undefined;
  }

  private async json<T>(method: string, path: string, body?: unknown, options: { notFound?: boolean } = {}): Promise<{ kind: 'ok'; body: T | undefined } | { kind: 'not-found'; message: string }> {
    const separator = path.includes('?') ? '&' : '?';
    return withFreshToken(this.tokens, 'hubspot', async (token) => {
      const response = await this.send({ method, path: `${path}${separator}installPortalId=${this.portalId}`, body, headers: { Authorization: `Bearer ${token}` } });
      if (response.status === 204) return { kind: 'ok', body: undefined };
      const text = await response.text();
      const parsed = text ? (JSON.parse(text) as unknown) : undefined;
      if (response.status === 404 && options.notFound) return { kind: 'not-found', message: (parsed as { message?: string } | undefined)?.message ?? `HTTP 404 for ${path}` };
      if (!response.ok) throw classifyHubSpotFailure(response.status, parsed, Object.fromEntries(response.headers.entries()));
      return { kind: 'ok', body: parsed as T };
    });
  }

  /** One request with a deadline: the SDK's fetch has none. */
  private async send(options: Parameters<Client['apiRequest']>[0]): Promise<Awaited<ReturnType<Client['apiRequest']>>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ConnectorError({ provider: 'hubspot', errorClass: 'transient', message: `network: timed out after ${this.timeoutMs} ms` })), this.timeoutMs);
    });
    try {
      return await Promise.race([this.client.apiRequest(options), timeout]);
    } catch (error) {
      throw error instanceof ConnectorError ? error : networkFailure('hubspot', error);
    } finally {
      clearTimeout(timer);
    }
  }
}
