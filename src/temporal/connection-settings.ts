import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/client';

/**
 * How the worker, the webhook shim and the CLI reach Temporal: one resolution, through
 * @temporalio/envconfig, so all three read the settings every Temporal SDK and the `temporal`
 * CLI read: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 * TEMPORAL_TLS_CLIENT_CERT_PATH|_DATA, TEMPORAL_TLS_CLIENT_KEY_PATH|_DATA,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH|_DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*, and a
 * TOML profile (TEMPORAL_PROFILE in TEMPORAL_CONFIG_FILE, default
 * ~/.config/temporalio/temporal.toml). Variables override the profile.
 */
export interface TemporalSettings {
  /** host:port of the frontend. Unset everywhere: the local dev server on TEMPORAL_PORT. */
  address: string;
  namespace: string;
  /**
   * What Connection.connect / Connection.lazy / NativeConnection.connect take. The subset both the
   * client and the worker connection accept (the worker's apiKey is a string only).
   */
  connectionOptions: {
    address: string;
    tls?: TLSConfig | boolean;
    apiKey?: string;
    metadata?: Record<string, string>;
  };
  /** For start-up lines and errors: the address and whether TLS / an API key are on; never a secret. */
  description: string;
}

export interface TemporalSettingsDefaults {
  /** The local dev server's port, used when no address is configured anywhere. */
  port: number;
  namespace: string;
}

export class TemporalSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalSettingsError';
  }
}

const hostPort = /^[^\s:]+:\d{1,5}$/;

/**
 * Resolves the settings from `env` (the same, already-cleaned variables config.ts parsed: an empty
 * variable is unset there, so it must be here too) and the profile file it points to.
 * Throws TemporalSettingsError naming what is wrong: an unknown profile, an unreadable certificate
 * file, a malformed config file, an address that is not host:port.
 */
export function resolveTemporalSettings(env: Record<string, string>, defaults: TemporalSettingsDefaults): TemporalSettings {
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    // overrideEnvVars: only these variables, not process.env behind our back (tests and the CLI
    // pass their own environment). The default file location is found from HOME / XDG_CONFIG_HOME in it.
    loaded = loadClientConnectConfig({ overrideEnvVars: env });
  } catch (error) {
    throw new TemporalSettingsError(`${profileName(env)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { connectionOptions: options, namespace } = loaded;
  const address = options.address ?? `127.0.0.1:${defaults.port}`;
  // TEMPORAL_ADDRESS itself is checked by config.ts's schema (with the other variables); an
  // address from a profile file is checked here, where it is known.
  if (env.TEMPORAL_ADDRESS === undefined && !hostPort.test(address)) {
    throw new TemporalSettingsError(`${profileName(env)}: address "${address}" must be host:port, e.g. 127.0.0.1:7233`);
  }
  const tls = options.tls ?? undefined;
  const apiKey = typeof options.apiKey === 'string' ? options.apiKey : undefined;
  const metadata = options.metadata && Object.keys(options.metadata).length > 0 ? stringMetadata(options.metadata) : undefined;
  const resolvedNamespace = namespace ?? defaults.namespace;
  const features = [tls ? 'TLS' : 'plaintext', ...(typeof tls === 'object' && tls.clientCertPair ? ['client certificate'] : []), ...(apiKey ? ['API key'] : [])];
  return {
    address,
    namespace: resolvedNamespace,
    connectionOptions: { address, ...(tls !== undefined ? { tls } : {}), ...(apiKey ? { apiKey } : {}), ...(metadata ? { metadata } : {}) },
    description: `${address} (namespace ${resolvedNamespace}, ${features.join(', ')})`,
  };
}

function profileName(env: Record<string, string>): string {
  const file = env.TEMPORAL_CONFIG_FILE ? ` in ${env.TEMPORAL_CONFIG_FILE}` : '';
  return `Temporal connection settings (profile "${env.TEMPORAL_PROFILE ?? 'default'}"${file})`;
}

function stringMetadata(metadata: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * Why a TLS connection to Temporal fails, in words: the client's gRPC stack reports only "Failed
 * to connect before the deadline" when the handshake is refused. One handshake with node:tls and
 * the same CA, server name and client certificate names the cause ("self-signed certificate in
 * certificate chain", "Hostname/IP does not match certificate's altnames"…). Undefined when TLS
 * is off, or the handshake succeeds (then the failure lies elsewhere).
 */
export async function diagnoseTls(settings: TemporalSettings, timeoutMs = 5_000): Promise<string | undefined> {
  const { tls: options } = settings.connectionOptions;
  if (!options) return undefined;
  const separator = settings.address.lastIndexOf(':');
  const host = settings.address.slice(0, separator);
  const config = typeof options === 'object' ? options : {};
  const toString = (value: Uint8Array | undefined): string | undefined => (value ? Buffer.from(value).toString() : undefined);
  const { connect } = await import('node:tls');
  return new Promise((resolve) => {
    const ca = toString(config.serverRootCACertificate);
    const socket = connect({
      host,
      port: Number(settings.address.slice(separator + 1)),
      // Like the SDK: the system roots unless a CA is configured; SNI and the name checked is the override or the host.
      ...(ca ? { ca } : {}),
      servername: config.serverNameOverride ?? host,
      ...(config.clientCertPair ? { cert: toString(config.clientCertPair.crt), key: toString(config.clientCertPair.key) } : {}),
      ALPNProtocols: ['h2'],
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      socket.end();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`TLS handshake with ${settings.address} failed: ${error.message}${error.code ? ` (${error.code})` : ''}`));
  });
}
