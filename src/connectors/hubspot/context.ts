import type { CompiledMapping } from '../../model/mapping';
import type { ActivityKind, HubSpotTarget } from './activity-kinds';
import type { HubSpotApis } from './api';
import type { RequestRunner } from './request-runner';

/** What every path (changes, records, upsert, bulk, deletions) shares within one connector. */
export interface HubSpotContext {
  apis: HubSpotApis;
  runner: RequestRunner;
  /** The defaults with the tenant's override: contacts, companies, deals and tasks. */
  mapping: CompiledMapping;
  /** Calls, emails and meetings map by their own tables (activity-kinds.ts); `task` is `mapping`. */
  kindMappings: Readonly<Record<ActivityKind, CompiledMapping>>;
  lookbackMs: number;
  /** The write time a derived `hs_timestamp` takes (tests pass a fixed clock). */
  now: () => number;
}

/** The mapping an object's records are converted with. */
export function mappingOf(ctx: HubSpotContext, target: HubSpotTarget): CompiledMapping {
  return target.kind === undefined ? ctx.mapping : ctx.kindMappings[target.kind];
}
