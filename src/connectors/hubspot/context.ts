import type { CompiledMapping } from '../../model/mapping';
import type { HubSpotApis } from './api';
import type { RequestRunner } from './request-runner';

/** What every path (changes, records, upsert, bulk, deletions) shares within one connector. */
export interface HubSpotContext {
  apis: HubSpotApis;
  runner: RequestRunner;
  mapping: CompiledMapping;
  lookbackMs: number;
}
