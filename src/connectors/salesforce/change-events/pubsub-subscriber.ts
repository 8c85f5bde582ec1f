import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import avro from 'avsc';
import { AUTH_HEADERS, createPubSubGrpcClient, ERROR_CODE_TRAILER, MAX_NUM_REQUESTED, PUBSUB_ERROR_CODES, type FetchRequest, type FetchResponse, type PubSubGrpcClient, type SchemaInfo } from '../../../protocols/salesforce-pubsub';
import { ConnectorError } from '../../errors';
import { decodeFieldBitmap, type RecordSchemaJson } from './field-bitmap';
import type { DecodedChangeEvent } from './notices';

export interface PubSubAuth {
  accessToken: string;
  instanceUrl: string;
  /** The org id (`tenantid`). */
  tenantId: string;
}

/** Where a read starts: after a replay id (base64), or at a preset. */
export type ReplayFrom = { replayId: string } | 'EARLIEST' | 'LATEST';

export interface FetchOptions {
  topic: string;
  from: ReplayFrom;
  /** At most this many events (capped at the vendor's 100 per FetchRequest). */
  maxEvents: number;
  /** Give up waiting for events after this long (the read is bounded: it runs inside an activity). */
  waitMs: number;
  /**
   * Once the first event arrived, return this long after it (or at maxEvents): a burst is read as
   * one batch, and under a steady stream no event waits longer than this for its read to end.
   */
  settleMs: number;
}

export type FetchResult =
  | {
      kind: 'events';
      events: DecodedChangeEvent[];
      /** Where the next read resumes: the last event's replay id, or the stream's latest one the server reported; undefined if it said nothing. */
      replayId: string | undefined;
    }
  /** The replay id was refused (older than retention, or not one of this org's): nothing read. */
  | { kind: 'replay-invalid'; message: string };

const provider = 'salesforce';

/** The header as the Avro schema types it (numbers as the schema's int and long). */
interface ChangeEventHeaderValue {
  entityName: string;
  recordIds: string[];
  changeType: string;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
}

function trailerCode(error: ServiceError): string | undefined {
  const value = error.metadata?.get(ERROR_CODE_TRAILER)[0];
  return typeof value === 'string' ? value : undefined;
}

/** A Pub/Sub API failure classified as every connector failure is (connectors/errors.ts classes). */
function toConnectorError(error: ServiceError): ConnectorError {
  const vendorCode = trailerCode(error) ?? status[error.code];
  const errorClass = error.code === status.UNAUTHENTICATED ? 'auth' : error.code === status.PERMISSION_DENIED ? 'permission' : error.code === status.NOT_FOUND ? 'not-found' : error.code === status.INVALID_ARGUMENT ? 'validation' : error.code === status.RESOURCE_EXHAUSTED ? 'rate-limited' : 'transient';
  return new ConnectorError({ provider, errorClass, message: error.details || error.message, vendorCode }, { cause: error });
}

/**
 * A bounded read of Salesforce change events over the Pub/Sub API (gRPC, Avro payloads): one
 * Subscribe stream per call, flow-controlled by one FetchRequest, closed once the events arrived
 * or the wait is over. The replay position stays with the caller (the workflow), never here.
 */
export class PubSubSubscriber {
  private readonly client: PubSubGrpcClient;
  private readonly schemas = new Map<string, { type: avro.Type; json: RecordSchemaJson }>();

  constructor(endpoint: string, options: { tls: boolean }) {
    this.client = createPubSubGrpcClient(endpoint, options.tls);
  }

  close(): void {
    this.client.close();
  }

  async fetch(auth: PubSubAuth, options: FetchOptions): Promise<FetchResult> {
    const metadata = authMetadata(auth);
    const raw = await this.subscribe(metadata, options);
    if (raw.kind === 'replay-invalid') return raw;
    const events: DecodedChangeEvent[] = [];
    for (const received of raw.events) {
      const schema = await this.schema(metadata, received.event.schema_id);
      const payload = schema.type.fromBuffer(received.event.payload) as { ChangeEventHeader: ChangeEventHeaderValue };
      const header = payload.ChangeEventHeader;
      events.push({
        replayId: received.replay_id.toString('base64'),
        entityName: String(header.entityName),
        recordIds: header.recordIds,
        changeType: header.changeType,
        changeOrigin: header.changeOrigin,
        commitTimestamp: Number(header.commitTimestamp),
        commitUser: header.commitUser,
        transactionKey: header.transactionKey,
        sequenceNumber: header.sequenceNumber,
        changedFields: decodeFieldBitmap(schema.json, header.changedFields),
      });
    }
    return { kind: 'events', events, replayId: raw.replayId };
  }

  private subscribe(metadata: Metadata, options: FetchOptions): Promise<{ kind: 'events'; events: FetchResponse['events']; replayId: string | undefined } | { kind: 'replay-invalid'; message: string }> {
    const wanted = Math.max(1, Math.min(options.maxEvents, MAX_NUM_REQUESTED));
    return new Promise((resolve, reject) => {
      const stream = this.client.Subscribe(metadata);
      const events: FetchResponse['events'] = [];
      let replayId: string | undefined;
      let settled = false;
      let settleTimer: NodeJS.Timeout | undefined;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(waitTimer);
        clearTimeout(settleTimer);
        outcome();
        stream.cancel();
      };
      const done = () => finish(() => resolve({ kind: 'events', events, replayId }));
      const waitTimer = setTimeout(done, options.waitMs);
      stream.on('data', (response: FetchResponse) => {
        for (const event of response.events) {
          events.push(event);
          replayId = event.replay_id.toString('base64');
        }
        // An empty response is a keepalive: everything up to its latest replay id was delivered.
        if (response.events.length === 0 && response.latest_replay_id.length > 0) replayId = response.latest_replay_id.toString('base64');
        if (events.length >= wanted) return done();
        // Measured from the first event, not the last: a stream that never pauses for settleMs
        // would otherwise hold every event until maxEvents arrived (2 s at 50 changes/s).
        if (events.length > 0 && settleTimer === undefined) settleTimer = setTimeout(done, options.settleMs);
      });
      stream.on('error', (error: ServiceError) => {
        if (settled) return;
        if (trailerCode(error) === PUBSUB_ERROR_CODES.replayIdCorrupted) return finish(() => resolve({ kind: 'replay-invalid', message: error.details || error.message }));
        finish(() => reject(toConnectorError(error)));
      });
      stream.on('end', () => finish(() => resolve({ kind: 'events', events, replayId })));
      const first: FetchRequest = { topic_name: options.topic, num_requested: wanted };
      if (options.from === 'EARLIEST') first.replay_preset = 'EARLIEST';
      else if (options.from === 'LATEST') first.replay_preset = 'LATEST';
      else {
        first.replay_preset = 'CUSTOM';
        first.replay_id = Buffer.from(options.from.replayId, 'base64');
      }
      stream.write(first);
    });
  }

  private async schema(metadata: Metadata, schemaId: string): Promise<{ type: avro.Type; json: RecordSchemaJson }> {
    const known = this.schemas.get(schemaId);
    if (known) return known;
    const info = await new Promise<SchemaInfo>((resolve, reject) =>
      this.client.GetSchema({ schema_id: schemaId }, metadata, (error, answer) => (error ? reject(toConnectorError(error)) : resolve(answer))),
    );
    const json = JSON.parse(info.schema_json) as RecordSchemaJson;
    const entry = { type: avro.Type.forSchema(json as avro.Schema, { wrapUnions: false }), json };
    this.schemas.set(schemaId, entry);
    return entry;
  }
}

function authMetadata(auth: PubSubAuth): Metadata {
  const metadata = new Metadata();
  metadata.set(AUTH_HEADERS.accessToken, auth.accessToken);
  metadata.set(AUTH_HEADERS.instanceUrl, auth.instanceUrl);
  metadata.set(AUTH_HEADERS.tenantId, auth.tenantId);
  return metadata;
}
