import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { codecDataConverter, loadPayloadCodec } from '../codec/data-converter';
import { loadConfig, type Config } from '../config';
import { ConnectionsRepository, type ConnectionSummary } from '../store/connections-repository';
import type { CredentialCipher } from '../store/credential-cipher';
import { createPool } from '../store/database';
import { loadCredentialCipher } from '../store/keyring';
import { diagnoseTls } from '../temporal/connection-settings';
import { CliError, exitCodes, notFound } from './errors';

/**
 * What commands need, built on first use so that `crm-sync mapping validate` touches neither
 * PostgreSQL nor Temporal, and closed once when the command ends.
 */
export class CliContext {
  private loadedConfig: Config | undefined;
  private openPool: pg.Pool | undefined;
  private credentialCipher: Promise<CredentialCipher> | undefined;
  private repository: Promise<ConnectionsRepository> | undefined;
  private temporal: Promise<{ connection: Connection; client: Client }> | undefined;
  /** Set by commands that keep running after their action returns (sandbox). */
  keepAlive = false;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Validated environment; a bad variable becomes a ConfigError (exit 78). */
  get config(): Config {
    this.loadedConfig ??= loadConfig(this.env);
    return this.loadedConfig;
  }

  get pool(): pg.Pool {
    this.openPool ??= createPool(this.config.DATABASE_URL, { max: 2 });
    return this.openPool;
  }

  /** The keyring from CRM_SYNC_ENCRYPTION_KEYS (or the development key file). */
  cipher(): Promise<CredentialCipher> {
    this.credentialCipher ??= loadCredentialCipher(this.config);
    return this.credentialCipher;
  }

  connections(): Promise<ConnectionsRepository> {
    this.repository ??= this.cipher().then((cipher) => new ConnectionsRepository(this.pool, cipher));
    return this.repository;
  }

  /** The stored connection, or exit 3 naming it. */
  async connection(id: string): Promise<ConnectionSummary> {
    const found = await (await this.connections()).getConnection(id);
    if (!found) throw notFound(`unknown connection "${id}" (see: crm-sync connection list)`);
    return found;
  }

  get temporalAddress(): string {
    return this.config.temporal.address;
  }

  get taskQueue(): string {
    return this.config.TEMPORAL_TASK_QUEUE;
  }

  client(): Promise<Client> {
    this.temporal ??= (async () => {
      // Address, namespace, TLS and API key: the envconfig settings the worker and the shim use too.
      const settings = this.config.temporal;
      let connection: Connection;
      try {
        connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: '5s' });
      } catch (error) {
        // With TLS on, say why the handshake fails (a wrong CA, server name or client certificate).
        const tls = await diagnoseTls(settings);
        throw new CliError(`Temporal is unreachable at ${settings.address}: ${tls ?? (error as Error).message} [${settings.description}]`, exitCodes.unavailable);
      }
      // The workers' payload codec: without it, results, queries and updates would not decode.
      const dataConverter = codecDataConverter(await loadPayloadCodec(this.config));
      return { connection, client: new Client({ connection, namespace: this.config.TEMPORAL_NAMESPACE, dataConverter }) };
    })();
    return this.temporal.then(({ client }) => client);
  }

  async close(): Promise<void> {
    const temporal = await this.temporal?.catch(() => undefined);
    await temporal?.connection.close().catch(() => undefined);
    await this.openPool?.end().catch(() => undefined);
  }
}
