import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { devUiCodecEndpoint } from '../codec/endpoint-config';
import type { Config } from '../config';
import { searchAttributes } from '../temporal/search-attributes';
import { isPortOpen, startDevServer, waitForFrontend, type DevServerOptions, type RunningDevServer } from './dev-server';
import { resolveTemporalCli } from './temporal-cli';

export interface TemporalEndpoint {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  /** How we got it: configured, an already-running local server, or one we started. */
  origin: 'TEMPORAL_ADDRESS' | 'reused' | 'started';
  /** Set only when we started the server; stops it. */
  server?: RunningDevServer;
}

/**
 * Returns a Temporal server to talk to. TEMPORAL_ADDRESS wins and nothing is started; otherwise a
 * dev server already listening on TEMPORAL_PORT is reused (a second `npm start`), else one is
 * started with file persistence under CRM_SYNC_DATA_DIR.
 */
export async function ensureTemporal(config: Config, log: (line: string) => void, options: Pick<DevServerOptions, 'ownProcessGroup'> = {}): Promise<TemporalEndpoint> {
  const namespace = config.TEMPORAL_NAMESPACE;
  if (config.TEMPORAL_ADDRESS) {
    await waitForFrontend(config.TEMPORAL_ADDRESS, 30_000);
    return { address: config.TEMPORAL_ADDRESS, namespace, uiUrl: undefined, origin: 'TEMPORAL_ADDRESS' };
  }
  const address = `127.0.0.1:${config.TEMPORAL_PORT}`;
  if (await isPortOpen('127.0.0.1', config.TEMPORAL_PORT)) {
    await waitForFrontend(address, 10_000);
    await registerSearchAttributes(address, namespace);
    log(`Reusing the Temporal server already running at ${address}.`);
    return { address, namespace, uiUrl: `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`, origin: 'reused' };
  }
  const cli = await resolveTemporalCli({
    cacheDir: config.CRM_SYNC_CACHE_DIR,
    explicitPath: config.TEMPORAL_CLI_PATH,
    log,
  });
  log(`Starting the Temporal dev server (${cli.path}, from ${cli.source}) on ${address}…`);
  const server = await startDevServer({
    cliPath: cli.path,
    dataDir: config.CRM_SYNC_DATA_DIR,
    port: config.TEMPORAL_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    uiCodecEndpoint: devUiCodecEndpoint(config),
    namespace,
    ...options,
  });
  return { address, namespace, uiUrl: server.uiUrl, origin: 'started', server };
}

/**
 * Adds any of our search attributes a reused server lacks (one started by hand, or by an older
 * version of this project). Existing ones are left alone.
 */
export async function registerSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = Object.values(searchAttributes).filter((key) => !known.has(key.name));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType[key.type]])),
      });
    }
    return missing.map((key) => key.name);
  } finally {
    await connection.close();
  }
}

const { IndexedValueType } = proto.temporal.api.enums.v1;
const indexedValueType = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;
