import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuthRegistry } from './auth';
import { errorBody, HubSpotError, validationError } from './errors';
import type { JournalEntry, SubscriptionUpsert, WebhooksJournal } from './journal';

/** The journal's API version [H95]. */
const VERSION = '2026-03';
/** Where the sandbox serves journal files: HubSpot hands out presigned S3 URLs [H96]. */
export const JOURNAL_FILES_PREFIX = '/__journal-files/';
/** How long a file URL stays valid: not documented (`expiresAt` says); 15 minutes here. */
const FILE_URL_LIFETIME_MS = 15 * 60_000;
/** Batch reads of more entries than this are refused (the batch read's documented cap [H103]). */
const MAX_BATCH_COUNT = 100;

const SCOPES = {
  read: 'developer.webhooks_journal.read',
  subscriptionsRead: 'developer.webhooks_journal.subscriptions.read',
  subscriptionsWrite: 'developer.webhooks_journal.subscriptions.write',
} as const;

const ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'MERGE', 'RESTORE', 'ASSOCIATION_ADDED', 'ASSOCIATION_REMOVED'] as const;
const objectTypeId = z.string().regex(/^\d+-\d+$/, 'must be an object type id such as 0-1');
/** The OBJECT and ASSOCIATION upserts [H101]; the other subscription types are not emulated. */
const upsertSchema = z.discriminatedUnion('subscriptionType', [
  z.object({ subscriptionType: z.literal('OBJECT'), portalId: z.number().int(), objectTypeId, actions: z.array(z.enum(ACTIONS)).nonempty(), properties: z.array(z.string()), objectIds: z.array(z.number().int()) }),
  z.object({
    subscriptionType: z.literal('ASSOCIATION'),
    portalId: z.number().int(),
    objectTypeId,
    associatedObjectTypeIds: z.array(objectTypeId),
    actions: z.array(z.enum(['ASSOCIATION_ADDED', 'ASSOCIATION_REMOVED'])).nonempty(),
    objectIds: z.array(z.number().int()),
  }),
]);

export interface JournalRouteDeps {
  journal: WebhooksJournal;
  auth: AuthRegistry;
  portalId: number;
  now: () => number;
}

/**
 * The journal reads and the v4 subscription API, under an app's client-credentials token with the
 * right scope [H102]; exempt from the daily and ten-secondly limits (the server skips them) [H95].
 */
export function registerJournalRoutes(app: FastifyInstance, deps: JournalRouteDeps): void {
  const { journal, auth } = deps;
  const fileKey = randomBytes(16);
  const sign = (offset: string, expires: number): string => createHmac('sha256', fileKey).update(`${offset}:${expires}`).digest('hex');

  const appIdFor = (request: FastifyRequest, scope: string): number => {
    const granted = auth.clientCredentialsScopes(request.headers.authorization);
    if (!granted?.scopes.has(scope)) {
      throw new HubSpotError(
        403,
        errorBody("This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.", 'MISSING_SCOPES', {
          errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [scope] } }],
        }),
      );
    }
    return granted.appId;
  };
  const fetchResponse = (request: FastifyRequest, entry: JournalEntry) => {
    const expires = deps.now() + FILE_URL_LIFETIME_MS;
    const host = `${request.protocol}://${request.headers.host ?? 'localhost'}`;
    return { url: `${host}${JOURNAL_FILES_PREFIX}${entry.offset}.json?expires=${expires}&signature=${sign(entry.offset, expires)}`, expiresAt: new Date(expires).toISOString(), currentOffset: entry.offset };
  };
  const single = (request: FastifyRequest, reply: FastifyReply, entry: JournalEntry | undefined) => (entry ? reply.send(fetchResponse(request, entry)) : reply.code(204).send());
  const batch = (request: FastifyRequest, entries: JournalEntry[]) => {
    const at = new Date(deps.now()).toISOString();
    return { status: 'COMPLETE', results: entries.map((entry) => fetchResponse(request, entry)), requestedAt: at, startedAt: at, completedAt: at };
  };
  const expired = (offset: string) => new HubSpotError(404, errorBody(`Offset ${offset} was not found: it has expired or never existed`, 'OBJECT_NOT_FOUND'));
  const count = (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > MAX_BATCH_COUNT) throw validationError(`count must be an integer from 1 to ${MAX_BATCH_COUNT}`);
    return value;
  };
  const portalOf = (request: FastifyRequest): void => {
    const raw = (request.query as { installPortalId?: string }).installPortalId;
    if (raw !== undefined && Number(raw) !== deps.portalId) throw validationError(`The app is not installed in portal ${raw}`);
  };

  type Params = { offset: string; count: string };
  /** Every journal read: the read scope, the portal, then the answer. */
  const read = (path: string, answer: (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => unknown): void => {
    app.get<{ Params: Params }>(path, async (request, reply) => {
      appIdFor(request, SCOPES.read);
      portalOf(request);
      return answer(request, reply);
    });
  };
  for (const journalPath of ['journal', 'journal-local']) {
    const base = `/webhooks-journal/${journalPath}/${VERSION}`;
    read(`${base}/earliest`, (request, reply) => single(request, reply, journal.earliest()));
    read(`${base}/latest`, (request, reply) => single(request, reply, journal.latest()));
    read(`${base}/offset/:offset/next`, (request, reply) => {
      const next = journal.next(request.params.offset);
      if (next.kind === 'unknown-offset') throw expired(request.params.offset);
      return single(request, reply, next.kind === 'entry' ? next.entry : undefined);
    });
    read(`${base}/batch/earliest/:count`, (request) => batch(request, journal.first(count(request.params.count))));
    read(`${base}/batch/latest/:count`, (request) => batch(request, journal.last(count(request.params.count))));
    read(`${base}/batch/:offset/next/:count`, (request) => {
      const found = journal.after(request.params.offset, count(request.params.count));
      if (found.kind === 'unknown-offset') throw expired(request.params.offset);
      return batch(request, found.entries);
    });
  }

  // The file behind a read's `url`: presigned, so no bearer token; S3's answers when expired or gone.
  app.get<{ Params: { file: string }; Querystring: { expires?: string; signature?: string } }>(`${JOURNAL_FILES_PREFIX}:file`, async (request, reply) => {
    const offset = request.params.file.replace(/\.json$/, '');
    const expires = Number(request.query.expires);
    const s3Error = (status: number, code: string, message: string) =>
      reply.code(status).type('application/xml').send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    if (request.query.signature !== sign(offset, expires)) return s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (deps.now() > expires) return s3Error(403, 'AccessDenied', 'Request has expired');
    const entry = journal.entry(offset);
    if (!entry) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    return reply.send({ offset: entry.offset, journalEvents: entry.events, publishedAt: new Date(entry.publishedAt).toISOString() });
  });

  const subscriptions = `/webhooks-journal/subscriptions/${VERSION}`;
  app.post(subscriptions, async (request) => {
    const appId = appIdFor(request, SCOPES.subscriptionsWrite);
    const parsed = upsertSchema.safeParse(request.body);
    if (!parsed.success) throw validationError(`Invalid input: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
    const body = parsed.data;
    const upsert: SubscriptionUpsert =
      body.subscriptionType === 'OBJECT' ? { ...body, associatedObjectTypeIds: [] } : { ...body, properties: [] };
    return journal.upsertSubscription(appId, upsert);
  });
  app.get(subscriptions, async (request) => ({ results: journal.listSubscriptions(appIdFor(request, SCOPES.subscriptionsRead)) }));
  app.get<{ Params: { id: string } }>(`${subscriptions}/:id`, async (request) => {
    const found = journal.getSubscription(appIdFor(request, SCOPES.subscriptionsRead), Number(request.params.id));
    if (!found) throw new HubSpotError(404, errorBody(`Subscription ${request.params.id} not found`, 'OBJECT_NOT_FOUND'));
    return found;
  });
  app.delete<{ Params: { id: string } }>(`${subscriptions}/:id`, async (request, reply) => {
    // A subscription already gone counts as deleted (UNCONFIRMED: HubSpot may answer 404).
    journal.deleteSubscription(appIdFor(request, SCOPES.subscriptionsWrite), Number(request.params.id));
    return reply.code(204).send();
  });
  app.delete<{ Params: { portalId: string } }>(`${subscriptions}/portals/:portalId`, async (request, reply) => {
    journal.deletePortalSubscriptions(appIdFor(request, SCOPES.subscriptionsWrite), Number(request.params.portalId));
    return reply.code(204).send();
  });
}
