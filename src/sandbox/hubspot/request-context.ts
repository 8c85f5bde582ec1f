import type { FastifyRequest } from 'fastify';
import type { AppIdentity } from './auth';
import { validationError } from './errors';
import { resolveObjectType, type HubSpotObjectType } from './schema';
import type { WriteSource } from './store';

// A WeakMap rather than a Fastify request decoration: module augmentation would leak into the
// other sandboxes' types.
const apps = new WeakMap<FastifyRequest, AppIdentity>();

export function setApp(request: FastifyRequest, app: AppIdentity): void {
  apps.set(request, app);
}

export function appOf(request: FastifyRequest): AppIdentity | undefined {
  return apps.get(request);
}

/** API writes are attributed to the calling app, so its own echoes are recognisable in webhooks. */
export function integrationSource(request: FastifyRequest): WriteSource {
  return { changeSource: 'INTEGRATION', sourceId: String(apps.get(request)?.appId ?? 0) };
}

export function objectTypeParam(segment: string): HubSpotObjectType {
  const type = resolveObjectType(segment);
  if (!type) throw validationError(`Unable to infer object type from: ${segment}`);
  return type;
}
