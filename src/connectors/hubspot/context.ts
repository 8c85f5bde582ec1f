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

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
