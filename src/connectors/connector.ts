import type { CanonicalFields, References } from '../model/canonical';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import type { ConnectorErrorInfo } from './errors';
import type { RateBudgetSnapshot } from './rate-budget';
import type { UniqueKeyQuery } from './unique-keys';
import type { WebhookSubscriber } from './webhook-subscriptions';

export type { UniqueKeyQuery } from './unique-keys';

/**
 * The one interface every CRM sits behind. Everything it takes and returns is plain JSON, so
 * activities can pass it through Temporal unchanged; cursors are opaque strings only the
 * connector that made them reads.
 */
export interface CrmConnector {
  readonly provider: CrmProvider;

  /**
   * Records changed since `since` (a vendor modstamp, ISO), oldest first, one page per call.
   * The connector reaches back `lookbackMs` before `since` (clock skew, late commits) and drops
   * what it already returned in this scan (same id and modstamp), so a record modified while the
   * scan pages is returned again with its new modstamp, never lost, and never returned twice with
   * the same one. Pass `cursor` from the previous page until `nextCursor` is absent.
   */
  listChanges(objectType: ObjectType, request: ChangesRequest): Promise<ChangePage>;

  /** Current state of the given records, in batches; missing ids are simply absent. */
  readRecords(objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]>;

  /**
   * First-sync matching: records whose canonical `keys.field` (e.g. `email`, `domain`) equals one
   * of `keys.values`, compared case-insensitively (domains by host, so a CRM that keeps only a
   * website matches too), in the vendor's batch sizes. Every record holding a value is returned
   * (duplicates included: the engine decides); unknown values return nothing. References may be
   * left unread (`{}`). Throws ConnectorError `validation` when the mapping has no such field.
   */
  findByUniqueKeys(objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]>;

  /**
   * Upserts by the canonical sync id (written into the CRM's external-id field), in the vendor's
   * batch sizes. One outcome per input, in input order; a failed record never fails the others.
   * Throws ConnectorError only when the whole call failed (auth, rate, outage).
   */
  upsertRecords(objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]>;

  /**
   * Deletes records by their ids in this CRM (the vendor's own delete: Salesforce's Recycle Bin,
   * HubSpot's archive, Dataverse's delete), in the vendor's batch sizes. Idempotent: an id that is
   * already gone answers `not-found`, never an error. One outcome per input, in input order; throws
   * ConnectorError only when the whole call failed (auth, rate, outage).
   */
  deleteRecords(objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]>;

  /** Records deleted (or archived) since `since`, paged like listChanges. */
  listDeletions(objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage>;

  /** The high-volume path for backfills and large writes. */
  readonly bulk: BulkPath;

  /** Fields the CRM has for an object (schema discovery: which custom fields exist). */
  describeFields(objectType: ObjectType): Promise<FieldDescription[]>;

  /** The connection's rate budget as the connector sees it now. */
  rateBudget(): Promise<RateBudgetSnapshot>;

  /**
   * When each of the given fields of these records last changed, where the vendor keeps a field
   * history (HubSpot's property histories, Pipedrive's changelog, Zoho's record timeline): by
   * external id, canonical field path -> ISO time; a field unchanged since the record was created,
   * the creation time. Fields it cannot tell are absent. Vendors without one leave it out, and the
   * record stamp stands.
   */
  fieldEditTimes?(objectType: ObjectType, requests: readonly FieldEditTimesRequest[]): Promise<ReadonlyMap<string, Readonly<Record<string, string>>>>;

  /**
   * The vendor's pull-based change log with a replay position (Salesforce Change Data Capture over
   * the Pub/Sub API, HubSpot's webhooks journal), where the connection has one configured. Absent elsewhere.
   */
  readonly changeEvents?: ChangeEventFeed | undefined;

  /** The vendor's webhook-subscription API, where the connector registers its own webhooks. */
  readonly webhookSubscriptions?: WebhookSubscriber | undefined;
}

/** A change log the workflow reads from a position it keeps itself (in its history). */
export interface ChangeEventFeed {
  read(request: ChangeEventReadRequest): Promise<ChangeEventRead>;
}

export interface ChangeEventReadRequest {
  /** After this replay id (opaque, as the feed gave it), or at the oldest retained / newest event. */
  from: { replayId: string } | 'EARLIEST' | 'LATEST';
  maxEvents: number;
  /** How long to wait for events before answering with none. */
  waitMs: number;
  /** The objects this connection syncs: events of others are skipped. */
  objects: readonly ObjectType[];
}

export type ChangeEventRead =
  | {
      kind: 'events';
      /** Records to read, one notice per record named (event ids drop redeliveries). */
      notices: ChangeRef[];
      /** Objects whose changes the feed could not list (an overflow): poll them from the watermark. */
      pollObjects: ObjectType[];
      /** Events read, including skipped ones. */
      received: number;
      /** Where the next read starts; undefined when the feed said nothing (keep the one you have). */
      replayId: string | undefined;
    }
  /** The position is no longer (or never was) in the feed: nothing was read; poll from the watermark. */
  | { kind: 'replay-invalid'; message: string };

export interface FieldEditTimesRequest {
  externalId: string;
  /** Canonical field paths (`lastName`, `custom.tier`). */
  fields: readonly string[];
}

export interface ChangesRequest {
  /** ISO-8601 watermark: the newest modstamp already applied. */
  since: string;
  /** Stop at this modstamp (exclusive), e.g. a backfill's start. */
  until?: string | undefined;
  cursor?: string | undefined;
  /** Page size hint; the connector caps it at the vendor's maximum. */
  limit?: number | undefined;
}

export interface ChangePage {
  records: ExternalRecord[];
  nextCursor?: string | undefined;
  /**
   * The newest modstamp covered so far: once every record of this and earlier pages is applied,
   * the watermark may advance to it.
   */
  highWatermark: string;
}

export interface DeletionPage {
  deletions: { externalId: string; deletedAt: string }[];
  nextCursor?: string | undefined;
  highWatermark: string;
  /**
   * Where the next scan starts, for vendors whose deletion feed is a token rather than a time
   * (Dynamics change-tracking delta links): pass it as `cursor` to the next scan. Absent = rescan
   * from `since`.
   */
  resumeCursor?: string | undefined;
  /** The vendor's token had expired and the feed restarted: deletions in the gap were not listed. */
  restarted?: boolean | undefined;
}

/** A CRM record, already mapped to canonical fields; references hold the CRM's own ids. */
export interface ExternalRecord {
  objectType: ObjectType;
  externalId: string;
  /** The canonical sync id stored in the CRM's external-id field, if it has one. */
  syncId: string | null;
  /** The vendor's system modstamp, ISO-8601 UTC. */
  modifiedAt: string;
  fields: CanonicalFields;
  references: References;
  /** Who made the last change, when the vendor says (lets the engine spot its own echoes). */
  lastModifiedBy?: string | undefined;
  /**
   * The row version, where the vendor can refuse a write made against another one (Dataverse's
   * ETag): the engine writes on top of the copy it read, or not at all. HubSpot and Pipedrive give
   * the stamp read: what their connectors check, after a write, that it replaced nothing newer.
   */
  version?: string | undefined;
}

export interface UpsertInput {
  /** Canonical sync id: the upsert key, written to the CRM's external-id field. */
  syncId: string;
  /** Canonical fields to write; absent keys are left untouched in the CRM. */
  fields: CanonicalFields;
  /** Related records by slot, as this CRM's ids (already translated by the engine). */
  references?: References | undefined;
  /**
   * When the record is already linked, its id in this CRM: the connector may update by id
   * instead of by sync id (e.g. records created before the sync existed).
   */
  externalId?: string | undefined;
  /** Write only if the record is still at this version (ExternalRecord.version); else `version-changed`. */
  ifVersion?: string | undefined;
}

export type UpsertOutcome =
  | {
      syncId: string;
      status: 'created' | 'updated' | 'unchanged';
      externalId: string;
      modifiedAt?: string | undefined;
      /** Values cut or left out by the tenant's mapping choice (`truncate`, `skip`), said, never silent. */
      adjusted?: string[] | undefined;
      /** With `adjusted`: the fields as written (a value cut, a field left out), not as asked. */
      written?: CanonicalFields | undefined;
    }
  /**
   * The record changed since the version given (someone edited it meanwhile): nothing written, or
   * (vendors that take no version) our write landed and the connector put back what it replaced.
   */
  | {
      syncId: string;
      status: 'version-changed';
      /** When the edits put back were made (canonical field -> ISO), for the next read to merge them under. */
      fieldEditTimes?: Readonly<Record<string, string>> | undefined;
    }
  /**
   * Nothing written: a create the vendor refused because another record already holds a value it
   * keeps unique (HubSpot's contact email), named here. Typically created there by someone else
   * after the engine looked for it: the engine links that record and merges it like any match.
   */
  | { syncId: string; status: 'exists'; externalId: string; error: ConnectorErrorInfo }
  | { syncId: string; status: 'failed'; error: ConnectorErrorInfo };

export type DeleteOutcome =
  | { externalId: string; status: 'deleted' | 'not-found' }
  | { externalId: string; status: 'failed'; error: ConnectorErrorInfo };

export interface BulkPath {
  /** Starts an export of every record (or those changed since `since`); returns the first cursor. */
  startExport(objectType: ObjectType, request?: { since?: string | undefined }): Promise<string>;
  /** One page of an export; `nextCursor` absent at the end. Safe to call again with the same cursor. */
  readExportPage(cursor: string): Promise<{ records: ExternalRecord[]; nextCursor?: string | undefined }>;
  /** Upserts many records through the vendor's bulk API; outcomes per input, in order. */
  upsert(objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]>;
}

export interface FieldDescription {
  name: string;
  label: string;
  type: string;
  custom: boolean;
  /** Whether the field can hold the canonical sync id (unique external id). */
  externalId?: boolean | undefined;
  picklistValues?: string[] | undefined;
}
