/**
 * `npm run sandbox`: starts the Salesforce, HubSpot and Dynamics sandboxes with seeded records and
 * prints their URLs and credentials. Options: --contacts N (default 50), --port-base P (default
 * 4010: Salesforce P, HubSpot P+1, Dynamics P+2, Pipedrive P+3, Zoho P+4; 0 for any free ports).
 */
import { parseArgs } from 'node:util';
import type { CommonSandboxOptions, SandboxHandle } from './core/sandbox-handle';
import { startDynamicsSandbox } from './dynamics';
import { startHubSpotSandbox } from './hubspot';
import { startPipedriveSandbox } from './pipedrive';
import { startSalesforceSandbox } from './salesforce';
import { startZohoSandbox } from './zoho';

const usage = 'usage: npm run sandbox -- [--contacts N] [--port-base PORT]';

function parseOptions(): { contacts: number; portBase: number } {
  let values;
  try {
    ({ values } = parseArgs({ options: { contacts: { type: 'string', default: '50' }, 'port-base': { type: 'string', default: '4010' } } }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(64); // EX_USAGE
  }
  const contacts = Number(values.contacts);
  const portBase = Number(values['port-base']);
  if (!Number.isInteger(contacts) || contacts < 0 || contacts > 1_000_000) {
    console.error(`--contacts must be a whole number from 0 to 1000000, got "${values.contacts}"\n${usage}`);
    process.exit(64);
  }
  if (!Number.isInteger(portBase) || portBase < 0 || portBase > 65531) {
    console.error(`--port-base must be a port from 0 to 65531, got "${values['port-base']}"\n${usage}`);
    process.exit(64);
  }
  return { contacts, portBase };
}

const { contacts, portBase } = parseOptions();
const common = (offset: number): CommonSandboxOptions => ({
  port: portBase === 0 ? 0 : portBase + offset,
  seed: { contacts, companies: Math.ceil(contacts / 5), deals: Math.ceil(contacts / 10) },
});

const sandboxes: SandboxHandle[] = [
  await startSalesforceSandbox(common(0)),
  await startHubSpotSandbox(common(1)),
  await startDynamicsSandbox(common(2)),
  await startPipedriveSandbox(common(3)),
  // Zoho: P+4 is the account's API domain; its accounts server and the other data centre take free ports (printed).
  await startZohoSandbox(common(4)),
];

const width = Math.max(...sandboxes.flatMap((sandbox) => Object.keys(sandbox.credentials).map((key) => key.length))) + 2;
for (const sandbox of sandboxes) {
  console.log(`\n${sandbox.name.padEnd(10)} ${sandbox.url}`);
  for (const [key, value] of Object.entries(sandbox.credentials)) console.log(`  ${key.padEnd(width)} ${value}`);
  console.log(`  ${'admin'.padEnd(width)} ${sandbox.url}/__sandbox/counters`);
}
console.log(`\nSeeded ${contacts} contacts (and companies, deals) in each. Ctrl-C to stop.`);

const stop = async (): Promise<void> => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.stop()));
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
