import { credentials as grpcCredentials, loadPackageDefinition, type ClientDuplexStream, type GrpcObject, type Metadata, type ServiceClientConstructor, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/**
 * The wire contract of Salesforce's Pub/Sub API (package `eventbus.v1`, service `PubSub`), the part
 * crm-sync speaks: GetTopic, GetSchema and Subscribe. Message names, field names, field numbers
 * and enum values are those of the vendor's published `pubsub_api.proto` (repository
 * forcedotcom/pub-sub-api, file pubsub_api.proto, read at commit 03d49a9c; vendor-facts S86).
 * Publish, PublishStream and ManagedSubscribe are left out: nothing here publishes, and a managed
 * subscription would move the replay position out of the workflow's history, the very thing CDC is
 * for here. Restated rather than copied so the build needs no asset beside the compiled module;
 * the sandbox serves it and the connector calls it, so both ends share one definition.
 */
export const PUBSUB_PROTO = `
syntax = "proto3";
package eventbus.v1;

message TopicInfo {
  string topic_name = 1;
  string tenant_guid = 2;
  bool can_publish = 3;
  bool can_subscribe = 4;
  string schema_id = 5;
  string rpc_id = 6;
}
message TopicRequest { string topic_name = 1; }
message EventHeader { string key = 1; bytes value = 2; }
message ProducerEvent {
  string id = 1;
  string schema_id = 2;
  bytes payload = 3;
  repeated EventHeader headers = 4;
}
message ConsumerEvent {
  ProducerEvent event = 1;
  bytes replay_id = 2;
}
enum ReplayPreset {
  LATEST = 0;
  EARLIEST = 1;
  CUSTOM = 2;
}
message FetchRequest {
  string topic_name = 1;
  ReplayPreset replay_preset = 2;
  bytes replay_id = 3;
  int32 num_requested = 4;
  string auth_refresh = 5;
}
message FetchResponse {
  repeated ConsumerEvent events = 1;
  bytes latest_replay_id = 2;
  string rpc_id = 3;
  int32 pending_num_requested = 4;
}
message SchemaRequest { string schema_id = 1; }
message SchemaInfo {
  string schema_json = 1;
  string schema_id = 2;
  string rpc_id = 3;
}
service PubSub {
  rpc Subscribe (stream FetchRequest) returns (stream FetchResponse);
  rpc GetSchema (SchemaRequest) returns (SchemaInfo);
  rpc GetTopic (TopicRequest) returns (TopicInfo);
}
`;

export type ReplayPreset = 'LATEST' | 'EARLIEST' | 'CUSTOM';

export interface FetchRequest {
  topic_name?: string;
  replay_preset?: ReplayPreset;
  replay_id?: Buffer;
  num_requested?: number;
  auth_refresh?: string;
}

export interface ConsumerEvent {
  event: { id: string; schema_id: string; payload: Buffer; headers: { key: string; value: Buffer }[] };
  replay_id: Buffer;
}

export interface FetchResponse {
  events: ConsumerEvent[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}

export interface TopicInfo {
  topic_name: string;
  tenant_guid: string;
  can_publish: boolean;
  can_subscribe: boolean;
  schema_id: string;
  rpc_id: string;
}

export interface TopicRequest {
  topic_name: string;
}

export interface SchemaRequest {
  schema_id: string;
}

export interface SchemaInfo {
  schema_json: string;
  schema_id: string;
  rpc_id: string;
}

/** Metadata headers every call carries (the proto's service comment): session token auth. */
export const AUTH_HEADERS = { accessToken: 'accesstoken', instanceUrl: 'instanceurl', tenantId: 'tenantid' } as const;

/**
 * The custom error code Pub/Sub API puts in an error's trailers under `error-code` (vendor-facts
 * S89): the status code alone does not tell a stale replay id from a malformed request.
 */
export const ERROR_CODE_TRAILER = 'error-code';
export const PUBSUB_ERROR_CODES = {
  replayIdCorrupted: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
  authError: 'sfdc.platform.eventbus.grpc.service.auth.error',
  /** UNCONFIRMED: the code the vendor gives an unknown topic was not found in its documentation (S89). */
  topicNotFound: 'sfdc.platform.eventbus.grpc.subscription.topic.not.found',
  /** UNCONFIRMED as the code for a malformed request (num_requested out of range, topic switched). */
  invalidArgument: 'sfdc.platform.eventbus.grpc.service.invalid.argument',
} as const;

/** At most this many events per FetchRequest (vendor-facts S88). */
export const MAX_NUM_REQUESTED = 100;

let cached: GrpcObject | undefined;

function pubSubPackage(): GrpcObject {
  if (!cached) {
    const root = protobuf.parse(PUBSUB_PROTO, { keepCase: true }).root;
    const definition = fromJSON(root.toJSON(), { keepCase: true, enums: String, longs: String, defaults: true, oneofs: true });
    cached = loadPackageDefinition(definition);
  }
  return cached;
}

function pubSubClientConstructor(): ServiceClientConstructor {
  const eventbus = pubSubPackage().eventbus as GrpcObject;
  return (eventbus.v1 as GrpcObject).PubSub as ServiceClientConstructor;
}

/** The service definition a grpc-js server adds its handlers to. */
export function pubSubServiceDefinition(): ServiceDefinition {
  return pubSubClientConstructor().service;
}

/** The calls of the generated grpc-js client this contract names. */
export interface PubSubGrpcClient {
  Subscribe(metadata: Metadata): ClientDuplexStream<FetchRequest, FetchResponse>;
  GetSchema(request: SchemaRequest, metadata: Metadata, callback: (error: ServiceError | null, answer: SchemaInfo) => void): void;
  GetTopic(request: TopicRequest, metadata: Metadata, callback: (error: ServiceError | null, answer: TopicInfo) => void): void;
  close(): void;
}

/** A grpc-js client of the service; `tls` false only for a local endpoint (the sandbox). */
export function createPubSubGrpcClient(endpoint: string, tls: boolean): PubSubGrpcClient {
  const Client = pubSubClientConstructor();
  return new Client(endpoint, tls ? grpcCredentials.createSsl() : grpcCredentials.createInsecure()) as unknown as PubSubGrpcClient;
}
