export { startHubSpotSandbox, type HubSpotCredentials, type HubSpotSandbox, type HubSpotSandboxOptions } from './server';
export type { HubSpotAdmin, HubSpotRecordView } from './admin';
export type { HubSpotLimitOptions, LimitsState, WindowLimit } from './limits';
export type { HubSpotWebhookEvent } from './webhooks';
export type { HubSpotObjectType } from './schema';
export type { PropertyInput } from './store';
export type { ApiWrite, BeforeWriteHook } from './write-hooks';
export { signV3 } from './signature';
export { createHubSpotDeveloperApp, DEFAULT_PUBLIC_APP_SCOPES, type HubSpotDeveloperApp, type HubSpotDeveloperAppOptions } from './developer-app';
