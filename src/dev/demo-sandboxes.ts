import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { startHubSpotSandbox, type HubSpotSandbox } from '../sandbox/hubspot';
import { startSalesforceSandbox, type SalesforceSandbox } from '../sandbox/salesforce';

export interface DemoSandboxes {
  salesforce: SalesforceSandbox;
  hubspot: HubSpotSandbox;
  /** `<data dir>/demo-sandboxes.json`: URLs and credentials, for calling the sandbox APIs by hand. */
  credentialsFile: string;
  stop(): Promise<void>;
}

/** What each sandbox is seeded with: Salesforce holds the history, HubSpot a few of its own. */
export function demoSeedCounts(contacts: number): { salesforce: { contacts: number; companies: number }; hubspot: { contacts: number } } {
  return {
    salesforce: { contacts, companies: Math.max(1, Math.ceil(contacts / 5)) },
    hubspot: { contacts: Math.max(1, Math.ceil(contacts / 10)) },
  };
}

/**
 * Starts the Salesforce and HubSpot sandboxes with seeded records and fresh random credentials
 * (never printed: the demo's own secret check relies on them staying out of every log). The
 * sandboxes live in memory, so every `npm start` gets new ones.
 */
export async function startDemoSandboxes(config: Config): Promise<DemoSandboxes> {
  const secret = (): string => randomBytes(24).toString('base64url');
  const base = config.DEMO_SANDBOX_PORT_BASE;
  const port = (offset: number): number => (base === 0 ? 0 : base + offset);
  const seed = demoSeedCounts(config.DEMO_CONTACTS);

  const salesforce = await startSalesforceSandbox({
    port: port(0),
    seed: seed.salesforce,
    // The demo must not run out of a 24 h allocation however long it is left running.
    dailyApiRequests: false,
    clientSecret: secret(),
    password: secret(),
  });
  let hubspot: HubSpotSandbox;
  try {
    hubspot = await startHubSpotSandbox({
      port: port(1),
      // Different fake data than Salesforce's, so these are HubSpot's own people.
      dataSeed: 7,
      seed: seed.hubspot,
      publicApp: { clientSecret: secret(), refreshToken: `na1-${secret()}` },
      privateApp: { token: `pat-na1-${secret()}` },
    });
  } catch (error) {
    await salesforce.stop();
    throw error;
  }

  const credentialsFile = path.resolve(config.CRM_SYNC_DATA_DIR, 'demo-sandboxes.json');
  await mkdir(path.dirname(credentialsFile), { recursive: true });
  await writeFile(
    credentialsFile,
    `${JSON.stringify({ note: 'In-memory CRM sandboxes of the running `npm start`; new credentials every start.', salesforce: salesforce.credentials, hubspot: { url: hubspot.url, ...hubspot.credentials } }, null, 2)}\n`,
    { mode: 0o600 },
  );

  return {
    salesforce,
    hubspot,
    credentialsFile,
    async stop() {
      await Promise.all([salesforce.stop(), hubspot.stop()]);
    },
  };
}

