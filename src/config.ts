import { z } from 'zod';
import { normaliseOrigin } from './codec/cors';
import { TracingConfigError, tracingRequested } from './observability/tracing-settings';
import { resolveTemporalSettings, TemporalSettingsError, type TemporalSettings } from './temporal/connection-settings';

/**
 * Process configuration, read from the environment once at start-up.
 *
 * Every variable is validated here so that a typo stops the process with a message naming the
 * variable, instead of surfacing later as a confusing connection error deep in a workflow.
 */

const port = z.coerce.number().int().min(1).max(65535);

const postgresUrl = z
  .string()
  .url()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must start with postgres:// or postgresql://');

/** `id:base64key` pairs, comma separated; each key must decode to exactly 32 bytes (AES-256). */
const encryptionKeys = z
  .string()
  .transform((raw, ctx) => {
    const keys = new Map<string, Buffer>();
    for (const entry of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const id = separator > 0 ? entry.slice(0, separator) : '';
      const key = Buffer.from(entry.slice(separator + 1), 'base64');
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
        ctx.addIssue({ code: 'custom', message: `entry "${id || entry.slice(0, 8)}…" needs the form id:base64key with an id of letters, digits, _ or -` });
        return z.NEVER;
      }
      if (key.length !== 32) {
        ctx.addIssue({ code: 'custom', message: `key "${id}" decodes to ${key.length} bytes; AES-256 needs 32 (make one with: openssl rand -base64 32)` });
        return z.NEVER;
      }
      keys.set(id, key);
    }
    if (keys.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'no keys given' });
      return z.NEVER;
    }
    return keys;
  });

/** Comma-separated browser origins (`scheme://host[:port]`), e.g. the Web UI's for the codec endpoint. */
const codecOrigins = z.string().transform((raw, ctx) => {
  const origins: string[] = [];
  for (const entry of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    try {
      origins.push(normaliseOrigin(entry));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : `"${entry}" is not an origin` });
      return z.NEVER;
    }
  }
  return origins;
});

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/crm_sync'),
    TEMPORAL_ADDRESS: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
      .optional(),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('crm-sync'),
    TEMPORAL_CLI_PATH: z.string().min(1).optional(),
    /** A workflow bundle built by `npm run build:workflows`; unset, the worker bundles src/workflows itself at start-up. */
    WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
    TEMPORAL_PORT: port.default(7233),
    TEMPORAL_UI_PORT: port.default(8233),
    CRM_SYNC_DATA_DIR: z.string().min(1).default('.data'),
    CRM_SYNC_CACHE_DIR: z.string().min(1).default('.cache'),
    CRM_SYNC_ENCRYPTION_KEYS: encryptionKeys.optional(),
    CRM_SYNC_ACTIVE_KEY_ID: z.string().min(1).optional(),
    SHIM_PORT: port.default(8080),
    /**
     * The shim's public base URL as the vendors call it (behind a proxy): HubSpot signs the full
     * URL, so the shim must rebuild it exactly. Unset: taken from the request.
     */
    SHIM_PUBLIC_URL: z.string().url().optional(),
    /** Bearer token operators (and the `temporal` CLI's --codec-auth) present to the codec endpoint. */
    CODEC_OPERATOR_TOKEN: z.string().min(24, 'must be at least 24 characters (make one with: openssl rand -base64 32)').optional(),
    /** Serve the codec endpoint without a token: only for a local dev server, whose Web UI cannot send one. */
    CODEC_ALLOW_NO_TOKEN: z.enum(['true', 'false'], 'must be true or false').default('false').transform((value) => value === 'true'),
    /** Browser origins (the Web UI's) allowed to call the codec endpoint; default: the dev server's UI on TEMPORAL_UI_PORT. */
    CODEC_CORS_ORIGINS: codecOrigins.optional(),
    /** Port of the standalone codec server (`npm run codec-server`). */
    CODEC_PORT: port.default(8081),
    /** The worker's `/metrics` listener (Prometheus text: crm-sync's metrics and the Temporal SDK's). */
    METRICS_HOST: z.string().min(1).default('0.0.0.0'),
    METRICS_PORT: port.default(9464),
    /** Where the Temporal SDK's own Prometheus exporter listens; the worker's `/metrics` re-serves it, so loopback suffices. */
    TEMPORAL_METRICS_BIND_ADDRESS: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9465')
      .default('127.0.0.1:9465'),
    /** Tracing (src/observability/tracing.ts): otlp or none; the exporter reads the other OTEL_* variables itself. */
    OTEL_TRACES_EXPORTER: z.string().optional(),
    OTEL_SDK_DISABLED: z.string().optional(),
    /** `npm start` (the demo): Salesforce contacts seeded, with a fifth as many accounts; HubSpot gets a tenth of its own. */
    DEMO_CONTACTS: z.coerce.number().int().min(1).max(100_000).default(200),
    /** `npm start`: the Salesforce sandbox listens here and HubSpot on the next port; 0 picks free ports. */
    DEMO_SANDBOX_PORT_BASE: z.coerce.number().int().min(0).max(65534).default(4010),
  })
  .superRefine((config, ctx) => {
    if (config.NODE_ENV === 'production' && !config.CRM_SYNC_ENCRYPTION_KEYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CRM_SYNC_ENCRYPTION_KEYS'],
        message: 'is required in production (credentials are encrypted at rest with it)',
      });
    }
    if (config.NODE_ENV === 'production' && config.CODEC_ALLOW_NO_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['CODEC_ALLOW_NO_TOKEN'],
        message: 'may not be true in production (anyone could decode workflow history); set CODEC_OPERATOR_TOKEN',
      });
    }
    try {
      tracingRequested({ OTEL_TRACES_EXPORTER: config.OTEL_TRACES_EXPORTER, OTEL_SDK_DISABLED: config.OTEL_SDK_DISABLED });
    } catch (error) {
      if (!(error instanceof TracingConfigError)) throw error;
      ctx.addIssue({ code: 'custom', path: ['OTEL_TRACES_EXPORTER'], message: error.message.replace(/^OTEL_TRACES_EXPORTER /, '') });
    }
    if (config.CRM_SYNC_ACTIVE_KEY_ID && !config.CRM_SYNC_ENCRYPTION_KEYS?.has(config.CRM_SYNC_ACTIVE_KEY_ID)) {
      ctx.addIssue({
        code: 'custom',
        path: ['CRM_SYNC_ACTIVE_KEY_ID'],
        message: `names key "${config.CRM_SYNC_ACTIVE_KEY_ID}", which CRM_SYNC_ENCRYPTION_KEYS does not contain`,
      });
    }
  });

export type Config = z.output<typeof configSchema> & {
  /**
   * How to reach Temporal (address, namespace, TLS, API key), resolved by @temporalio/envconfig
   * from the TEMPORAL_* variables and the TOML profile: what the worker, the shim and the CLI
   * connect with. TEMPORAL_NAMESPACE above is set to the same namespace.
   */
  temporal: TemporalSettings;
};

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set": shells and compose files often export FOO= to clear one.
  const present: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const result = configSchema.safeParse(present);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const variable = issue.path.join('.') || 'environment';
        return `${variable} ${issue.message}`;
      });
  let temporal: TemporalSettings | undefined;
  try {
    temporal = resolveTemporalSettings(present, { port: result.data?.TEMPORAL_PORT ?? 7233, namespace: 'default' });
  } catch (error) {
    if (!(error instanceof TemporalSettingsError)) throw error;
    problems.push(error.message);
  }
  if (!result.success || !temporal || problems.length > 0) throw new ConfigError(problems);
  // A profile may name the namespace; every user of TEMPORAL_NAMESPACE gets the resolved one.
  return { ...result.data, TEMPORAL_NAMESPACE: temporal.namespace, temporal };
}

/**
 * Entry points call this: a bad configuration ends the process with the message and exit code 78
 * (EX_CONFIG), never a stack trace.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
