export { startZohoSandbox, hostLabel, type ZohoCredentials, type ZohoSandbox, type ZohoSandboxOptions } from './server';
export type { ZohoAdmin } from './admin';
export { REGIONS, REGION_DOMAINS, type RegionUrls, type ZohoRegion } from './auth';
export type { ZohoLimitOptions, ZohoLimitsState } from './limits';
export { DEFAULT_SYNC_ID_FIELD, MODULES, type ZohoModule } from './modules';
export type { WatchChannel, ZohoCallback } from './notifications';
