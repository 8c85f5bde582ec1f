import { Client } from '@hubspot/api-client';

/**
 * The SDK objects the connector calls. Built once per connector with the SDK's retries OFF
 * (`numberOfApiCallRetries: 0`): retry policy belongs to the engine (activity retries) and the
 * budget, and the SDK's own (10 s x n after a 429, 200 ms x n after a 5xx) would hide failures
 * and spend the budget twice. The SDK applies its decorators from a process-wide singleton when an
 * API object is first touched, so every API used is touched here, right after our Client set an
 * empty decorator list (BEHAVIOR.md).
 */
export interface HubSpotApis {
  objects: Client['crm']['objects'];
  associationsBatch: Client['crm']['associations']['v4']['batchApi'];
  properties: Client['crm']['properties']['coreApi'];
}

export function createApis(basePath: string): HubSpotApis {
  // No accessToken: the request runner's middleware sets the bearer per call (tokens refresh).
  const client = new Client({ basePath, numberOfApiCallRetries: 0 });
  // Touching the discoveries now binds their APIs to the empty decorator list our Client just set.
  return { objects: client.crm.objects, associationsBatch: client.crm.associations.v4.batchApi, properties: client.crm.properties.coreApi };
}
