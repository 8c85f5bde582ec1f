import { Client as HubSpotClient } from '@hubspot/api-client';
import jsforce from 'jsforce';
import type { HubSpotSandbox } from '../../src/sandbox/hubspot';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce';

export interface NaiveLoopResult {
  written: number;
  failed: number;
  seconds: number;
  recordsPerSecond: number;
  /** Requests HubSpot refused with 429 (the SDK waited and retried them). */
  vendor429s: number;
  stoppedByTimeLimit: boolean;
}

const BATCH = 200;
const SLEEP_MS = 1000;

/**
 * The hand-written integration most write-ups show: read the contacts from Salesforce (jsforce),
 * then, in batches of 200, one upsert call per record through the official HubSpot SDK (which
 * waits and retries on HubSpot's ten-secondly 429), and a 1-second sleep between batches "to stay
 * under the limit". Stops after `records` records or `maxSeconds`, whichever comes first.
 */
export async function runNaiveLoop(salesforce: SalesforceSandbox, hubspot: HubSpotSandbox, records: number, maxSeconds: number): Promise<NaiveLoopResult> {
  const sf = salesforce.credentials;
  const source = new jsforce.Connection({ instanceUrl: sf.instanceUrl, accessToken: sf.accessToken, version: sf.version });
  const target = new HubSpotClient({ accessToken: hubspot.credentials.accessToken, basePath: hubspot.url, numberOfApiCallRetries: 6 });
  const base429 = hubspot.counters.rateLimited;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const rows = (await source.query<{ Id: string; FirstName?: string; LastName?: string; Email?: string; Phone?: string }>(`SELECT Id, FirstName, LastName, Email, Phone FROM Contact LIMIT ${records}`, { autoFetch: true, maxFetch: records })).records;
  let written = 0;
  let failed = 0;
  let stoppedByTimeLimit = false;
  outer: for (let offset = 0; offset < rows.length; offset += BATCH) {
    for (const row of rows.slice(offset, offset + BATCH)) {
      if (performance.now() > deadline) {
        stoppedByTimeLimit = true;
        break outer;
      }
      try {
        await target.crm.contacts.batchApi.upsert({
          inputs: [{ idProperty: 'crm_sync_id', id: row.Id, properties: { firstname: row.FirstName ?? '', lastname: row.LastName ?? '', email: row.Email ?? '', phone: row.Phone ?? '' } }],
        });
        written += 1;
      } catch {
        failed += 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SLEEP_MS));
  }
  const seconds = (performance.now() - started) / 1000;
  return { written, failed, seconds, recordsPerSecond: written / seconds, vendor429s: hubspot.counters.rateLimited - base429, stoppedByTimeLimit };
}
