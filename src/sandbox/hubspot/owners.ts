import type { FastifyInstance } from 'fastify';
import { SANDBOX_SALES_USERS } from '../core/users';
import { HubSpotError, errorBody } from './errors';

/**
 * The portal's owners, as `GET /crm/v3/owners` lists them [H81]: `id` is the owner id a record's
 * `hubspot_owner_id` holds, `userId` the user's id (refused as an owner). A deactivated user's
 * owner is archived: listed only with `archived=true`, and not an option of `hubspot_owner_id`.
 */
export interface HubSpotOwner {
  id: string;
  email: string;
  type: 'PERSON';
  firstName: string;
  lastName: string;
  userId: number;
  userIdIncludingInactive: number;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

const CREATED = '2026-01-05T09:00:00.000Z';

export const HUBSPOT_OWNERS: readonly HubSpotOwner[] = SANDBOX_SALES_USERS.map((user, index) => ({
  id: String(41_629_779 + index * 1_111),
  email: user.email,
  type: 'PERSON',
  firstName: user.firstName,
  lastName: user.lastName,
  userId: 9_586_504 + index,
  userIdIncludingInactive: 9_586_504 + index,
  createdAt: CREATED,
  updatedAt: CREATED,
  archived: !user.active,
}));

/** The values `hubspot_owner_id` accepts: active owners' ids [H82]. */
export const ACTIVE_OWNER_IDS: readonly string[] = HUBSPOT_OWNERS.filter((owner) => !owner.archived).map((owner) => owner.id);

const PAGE_LIMIT = 500;

/** `GET /crm/v3/owners` (email, archived, limit, after) and `GET /crm/v3/owners/{ownerId}` (idProperty id|userId, archived). */
export function registerOwnerRoutes(app: FastifyInstance): void {
  app.get<{ Querystring: { email?: string; archived?: string; limit?: string; after?: string } }>('/crm/v3/owners', async (request) => {
    const archived = request.query.archived === 'true';
    const limit = Math.min(Math.max(Number(request.query.limit ?? 100) || 100, 1), PAGE_LIMIT);
    const start = Number(request.query.after ?? 0) || 0;
    const email = request.query.email?.toLowerCase();
    const matching = HUBSPOT_OWNERS.filter((owner) => owner.archived === archived && (email === undefined || owner.email === email));
    const results = matching.slice(start, start + limit);
    const next = start + limit < matching.length ? { paging: { next: { after: String(start + limit) } } } : {};
    return { results, ...next };
  });
  app.get<{ Params: { ownerId: string }; Querystring: { idProperty?: string; archived?: string } }>('/crm/v3/owners/:ownerId', async (request) => {
    const archived = request.query.archived === 'true';
    const byUser = request.query.idProperty === 'userId';
    const owner = HUBSPOT_OWNERS.find((candidate) => candidate.archived === archived && (byUser ? String(candidate.userId) === request.params.ownerId : candidate.id === request.params.ownerId));
    // Wording UNCONFIRMED.
    if (!owner) throw new HubSpotError(404, errorBody(`Owner ${request.params.ownerId} not found`, 'OBJECT_NOT_FOUND'));
    return owner;
  });
}
