import type { FastifyRequest } from 'fastify';
import { resolveObjectType, type HubSpotObjectType } from './schema';
import type { PropertyInput } from './store';

/** An API write about to be handled: its object type and each input's properties (an upsert's key included). */
export interface ApiWrite {
  type: HubSpotObjectType;
  inputs: PropertyInput[];
}

/** Returns true once it has done its work (it is then dropped); anything else keeps it for the next write. */
export type BeforeWriteHook = (write: ApiWrite) => boolean | void;

/** The routes that write records, by route pattern (reads, search and archive are left out). */
const WRITE_ROUTES = new Set([
  'POST /crm/v3/objects/:type',
  'PATCH /crm/v3/objects/:type/:id',
  'POST /crm/v3/objects/:type/batch/create',
  'POST /crm/v3/objects/:type/batch/update',
  'POST /crm/v3/objects/:type/batch/upsert',
]);

interface WriteBody {
  properties?: PropertyInput;
  inputs?: { id?: unknown; idProperty?: unknown; properties?: PropertyInput }[];
}

/**
 * Test hooks run just before the sandbox handles an API write, in the request, after auth and
 * limits: a test can make someone else's change land at the exact moment between a client's
 * read and its write (e.g. a person creating the contact a sync is creating), deterministically.
 * In-process only; a real portal has no such thing.
 */
export class WriteHooks {
  private hooks: BeforeWriteHook[] = [];

  add(hook: BeforeWriteHook): void {
    this.hooks.push(hook);
  }

  run(request: FastifyRequest): void {
    if (this.hooks.length === 0 || !WRITE_ROUTES.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return;
    const segment = (request.params as { type?: unknown }).type;
    const type = typeof segment === 'string' ? resolveObjectType(segment) : undefined;
    if (!type) return;
    const body = (request.body ?? {}) as WriteBody;
    const inputs = Array.isArray(body.inputs)
      ? body.inputs.map((input) => (typeof input.idProperty === 'string' ? { ...input.properties, [input.idProperty]: input.id } : { ...input.properties }))
      : [{ ...body.properties }];
    const write: ApiWrite = { type, inputs };
    this.hooks = this.hooks.filter((hook) => hook(write) !== true);
  }
}
