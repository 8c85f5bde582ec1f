import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import { oneStatement, sqlLiteral, withTransaction, type Queryable, type Statement } from './database';
import { jsonRows, textArrayLiteral, textArrayText } from './batch-parameters';

/** Which external record in one connection a canonical record is. */
export interface RecordLink {
  canonicalId: string;
  tenantId: string;
  objectType: ObjectType;
  connectionId: string;
  externalId: string;
  /** Set when a delete elsewhere was applied with the `archive` policy: the record is no longer synced. */
  archivedAt?: Date | null | undefined;
}

/** The canonical fields as last synced with that connection. */
export interface RecordSnapshot {
  fields: Record<string, unknown>;
  sourceModifiedAt: Date | null;
  syncedAt: Date;
  /** When we last wrote the record in that connection (null: known only from reads). */
  writtenAt: Date | null;
}

export interface SyncedState {
  link: RecordLink;
  snapshot: RecordSnapshot | undefined;
}

export interface SyncedStateWrite {
  link: RecordLink;
  fields: Record<string, unknown>;
  sourceModifiedAt: Date | null;
  /** Saved after writing these fields there (not after reading them). */
  written?: boolean | undefined;
  /** The link was loaded as it is stored: only the snapshot is written. */
  linkSaved?: boolean | undefined;
}

/**
 * Links and snapshots, always written together: a link without its snapshot would make the next
 * change look like a full conflict, and a snapshot without its link would be unreachable.
 */
export class RecordLinksRepository {
  constructor(private readonly pool: pg.Pool) {}

  async findByExternalId(connectionId: string, objectType: ObjectType, externalId: string): Promise<RecordLink | undefined> {
    const result = await this.pool.query<LinkRow>(
      `SELECT ${linkColumns} FROM record_links WHERE connection_id = $1 AND object_type = $2 AND external_id = $3`,
      [connectionId, objectType, externalId],
    );
    return result.rows[0] && toLink(result.rows[0]);
  }

  /**
   * The canonical id of each external record of one connection, linking the unlinked ones: to the
   * id the CRM itself carries (its external-id field); else to the canonical record that already
   * holds one of its match keys (the same person met first in another CRM); else to a new one,
   * whose first key it then holds. The keys' primary key decides who is first, so copies of one
   * person met by several connections at once still end as one canonical record. A record whose
   * canonical record already has another record in this connection (a duplicate in this CRM, or a
   * copied external-id value) gets a canonical record of its own. A record we deleted there within
   * the hour (a read taken just before the delete) is not linked: it is left out of the answer.
   * Idempotent.
   */
  async ensureLinks(tenantId: string, connectionId: string, objectType: ObjectType, records: readonly LinkRequest[]): Promise<Map<string, string>> {
    if (records.length === 0) return new Map();
    const externalIdsParameter = textArrayLiteral(records.map((record) => record.externalId));
    const select = async (): Promise<Map<string, string>> => {
      const found = await this.pool.query<{ external_id: string; canonical_id: string }>(
        `SELECT l.external_id, l.canonical_id FROM ${byExternalIds('record_links', 'external_id, canonical_id')}`,
        [connectionId, objectType, externalIdsParameter],
      );
      return new Map(found.rows.map((row) => [row.external_id, row.canonical_id]));
    };
    let linked = await select();
    let missing = records.filter((record) => !linked.has(record.externalId));
    if (missing.length === 0) return linked;
    const deleted = await this.pool.query<{ external_id: string }>(
      `SELECT l.external_id FROM ${byExternalIds('deleted_records', 'external_id, deleted_at')} WHERE l.deleted_at > now() - interval '1 hour'`,
      [connectionId, objectType, textArrayLiteral(missing.map((record) => record.externalId))],
    );
    if (deleted.rows.length > 0) {
      const gone = new Set(deleted.rows.map((row) => row.external_id));
      missing = missing.filter((record) => !gone.has(record.externalId));
    }

    const { chosen, held } = await this.canonicalIdsByKeys(tenantId, objectType, missing);
    const insertLinks = async (entries: readonly { externalId: string; canonicalId: string }[]): Promise<void> => {
      const inserted = await this.pool.query<{ external_id: string; canonical_id: string }>(
        `INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id)
         SELECT id, $2, $3, $4, ext FROM unnest($1::uuid[], $5::text[]) AS u (id, ext)
         ON CONFLICT DO NOTHING RETURNING external_id, canonical_id`,
        [textArrayLiteral(entries.map((entry) => entry.canonicalId)), connectionId, tenantId, objectType, textArrayLiteral(entries.map((entry) => entry.externalId))],
      );
      for (const row of inserted.rows) linked.set(row.external_id, row.canonical_id);
      // Not inserted: linked meanwhile by a concurrent caller, or the canonical record already has a record here.
      if (inserted.rows.length < entries.length) linked = await select();
    };
    await insertLinks(missing.map((record) => ({ externalId: record.externalId, canonicalId: chosen.get(record.externalId) ?? record.proposedCanonicalId })));
    const unlinked = missing.filter((record) => !linked.has(record.externalId));
    if (unlinked.length > 0) await insertLinks(unlinked.map((record) => ({ externalId: record.externalId, canonicalId: randomUUID() })));
    // Every other key of a newly linked record names its canonical record, for the copies met later.
    const keys = missing.flatMap((record) => {
      const canonicalId = linked.get(record.externalId);
      return canonicalId ? (record.keys ?? []).filter((key) => !held.has(keyOf(key))).map((key) => ({ ...key, canonicalId })) : [];
    });
    await this.claimKeys(tenantId, objectType, keys);
    return linked;
  }

  /**
   * For records not carrying a sync id: the canonical id that holds (or now claims) their first
   * matching key, and every key now known to be held by someone.
   */
  private async canonicalIdsByKeys(tenantId: string, objectType: ObjectType, records: readonly LinkRequest[]): Promise<{ chosen: Map<string, string>; held: Map<string, string> }> {
    const keyed = records.filter((record) => !record.carriesSyncId && (record.keys?.length ?? 0) > 0);
    const chosen = new Map<string, string>();
    if (keyed.length === 0) return { chosen, held: new Map() };
    const lookup = async (keys: readonly MatchKey[]): Promise<Map<string, string>> => {
      const found = new Map<string, string>();
      for (const field of new Set(keys.map((key) => key.field))) {
        const rows = await this.pool.query<{ value: string; canonical_id: string }>(
          `SELECT m.value, m.canonical_id FROM unnest($4::text[]) AS k (value)
           CROSS JOIN LATERAL (SELECT value, canonical_id FROM canonical_match_keys WHERE tenant_id = $1 AND object_type = $2 AND field = $3 AND value = k.value OFFSET 0) AS m`,
          [tenantId, objectType, field, textArrayLiteral(keys.filter((key) => key.field === field).map((key) => key.value))],
        );
        for (const row of rows.rows) found.set(keyOf({ field, value: row.value }), row.canonical_id);
      }
      return found;
    };
    const held = await lookup(keyed.flatMap((record) => record.keys ?? []));
    const unclaimed: LinkRequest[] = [];
    for (const record of keyed) {
      const holder = (record.keys ?? []).map((key) => held.get(keyOf(key))).find((id) => id !== undefined);
      if (holder) chosen.set(record.externalId, holder);
      else unclaimed.push(record);
    }
    if (unclaimed.length > 0) {
      const firstKeys = unclaimed.map((record) => ({ ...(record.keys?.[0] as MatchKey), canonicalId: record.proposedCanonicalId }));
      const claimed = await this.claimKeys(tenantId, objectType, firstKeys);
      const lost = firstKeys.filter((key) => !claimed.has(keyOf(key)));
      // Claimed by a concurrent caller in between: theirs.
      const theirs = lost.length > 0 ? await lookup(lost) : new Map<string, string>();
      for (const [key, id] of [...claimed, ...theirs]) held.set(key, id);
      for (const record of unclaimed) {
        const holder = held.get(keyOf(record.keys?.[0] as MatchKey));
        if (holder) chosen.set(record.externalId, holder);
      }
    }
    return { chosen, held };
  }

  /** Records keys for canonical records; a key someone already holds stays theirs. Returns the keys claimed now. */
  async claimKeys(tenantId: string, objectType: ObjectType, keys: readonly (MatchKey & { canonicalId: string })[], db: Queryable = this.pool): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const claimed = await db.query<{ field: string; value: string; canonical_id: string }>(
      `INSERT INTO canonical_match_keys (tenant_id, object_type, field, value, canonical_id)
       SELECT $1, $2, field, value, id FROM unnest($3::text[], $4::text[], $5::uuid[]) AS k (field, value, id)
       ON CONFLICT DO NOTHING RETURNING field, value, canonical_id`,
      [tenantId, objectType, textArrayLiteral(keys.map((key) => key.field)), textArrayLiteral(keys.map((key) => key.value)), textArrayLiteral(keys.map((key) => key.canonicalId))],
    );
    return new Map(claimed.rows.map((row) => [keyOf(row), row.canonical_id]));
  }

  /** The database's clock: the one clock every worker shares, to order a read against a snapshot. */
  async databaseNow(): Promise<string> {
    const result = await this.pool.query<{ now: Date }>('SELECT now() AS now');
    return (result.rows[0]?.now ?? new Date()).toISOString();
  }

  /** External id -> canonical id, for the given records of one connection that are linked. */
  async canonicalIdsOf(connectionId: string, objectType: ObjectType, externalIds: readonly string[]): Promise<Map<string, string>> {
    if (externalIds.length === 0) return new Map();
    const result = await this.pool.query<{ external_id: string; canonical_id: string }>(
      `SELECT l.external_id, l.canonical_id FROM ${byExternalIds('record_links', 'external_id, canonical_id')}`,
      [connectionId, objectType, textArrayLiteral(externalIds)],
    );
    return new Map(result.rows.map((row) => [row.external_id, row.canonical_id]));
  }

  /**
   * First-sync matching: links each source record's canonical record to the first of its
   * candidates (target records holding the same unique key) that it may take, in one transaction
   * under a per-tenant-and-object lock, so concurrent matchers (both directions of a first sync)
   * see each other's links.
   *
   * - Candidate unlinked: linked to the source record's canonical id.
   * - Candidate linked to a canonical record that has no record in any connection where the
   *   source's has one (typically: the target's own first sync linked it a moment ago, to a fresh
   *   id): the two canonical records are one, and are merged into the smaller id (deterministic,
   *   so both directions merge the same way): links, keys and conflict history moved (mergeCanonical).
   * - Candidate linked to a canonical record that already has a record in the source connection
   *   (another source record holds the pair, e.g. a duplicate in the source CRM): never stolen; the
   *   next candidate is tried, and with none left the result is `taken`, naming the holder.
   * - The source's canonical record already linked in the target (a concurrent matcher won): that
   *   link is returned as it is.
   */
  async adoptMatches(
    tenantId: string,
    objectType: ObjectType,
    sourceConnectionId: string,
    targetConnectionId: string,
    requests: readonly MatchRequest[],
  ): Promise<MatchResult[]> {
    if (requests.length === 0) return [];
    return withTransaction(this.pool, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`record-match:${tenantId}:${objectType}`]);
      const linkOf = async (connectionId: string, externalId: string): Promise<string | undefined> =>
        (await tx.query<{ canonical_id: string }>(`SELECT canonical_id FROM record_links WHERE connection_id = $1 AND object_type = $2 AND external_id = $3`, [connectionId, objectType, externalId]))
          .rows[0]?.canonical_id;
      const linksOf = async (canonicalId: string): Promise<Map<string, string>> =>
        new Map(
          (await tx.query<{ connection_id: string; external_id: string }>(`SELECT connection_id, external_id FROM record_links WHERE canonical_id = $1`, [canonicalId])).rows.map((row) => [
            row.connection_id,
            row.external_id,
          ]),
        );
      /**
       * One request, or undefined when its link could not be inserted because another writer
       * linked the pair meanwhile: the target's own feed links a record it reads by its match key
       * (ensureLinks) without this lock. Asked again, the request then sees that link.
       */
      const adopt = async (request: MatchRequest): Promise<MatchResult | undefined> => {
        const canonicalId = (await linkOf(sourceConnectionId, request.sourceExternalId)) ?? request.canonicalId;
        const own = await linksOf(canonicalId);
        const already = own.get(targetConnectionId);
        if (already !== undefined) return { status: 'linked', canonicalId, targetExternalId: already, via: 'existing-link' };
        let result: MatchResult | undefined;
        let holder: { canonicalId: string; sourceExternalId: string } | undefined;
        for (const candidate of request.candidates) {
          const other = await linkOf(targetConnectionId, candidate);
          if (other === undefined) {
            const inserted = await tx.query(
              `INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
              [canonicalId, targetConnectionId, tenantId, objectType, candidate],
            );
            if (inserted.rowCount === 0) return undefined;
            result = { status: 'linked', canonicalId, targetExternalId: candidate, via: 'match' };
            break;
          }
          // Linked to this very record meanwhile: the target's own feed links what it reads by its
          // match key without this lock, and a statement of this transaction sees that commit.
          if (other === canonicalId) return { status: 'linked', canonicalId, targetExternalId: candidate, via: 'existing-link' };
          const theirs = await linksOf(other);
          const overlap = [...theirs.keys()].find((connectionId) => own.has(connectionId));
          if (overlap !== undefined) {
            holder ??= { canonicalId: other, sourceExternalId: theirs.get(sourceConnectionId) ?? (theirs.get(overlap) as string) };
            continue;
          }
          const [survivor, loser] = canonicalId < other ? [canonicalId, other] : [other, canonicalId];
          await mergeCanonical(tx, loser, survivor);
          result = { status: 'linked', canonicalId: survivor, targetExternalId: candidate, via: 'match', mergedFrom: loser };
          break;
        }
        return result ?? { status: 'taken', canonicalId, heldBy: holder };
      };
      const results: MatchResult[] = [];
      for (const request of requests) {
        const result = (await adopt(request)) ?? (await adopt(request));
        if (!result) throw new Error(`${objectType} ${request.sourceExternalId}: its link in ${targetConnectionId} kept changing while it was matched`);
        results.push(result);
      }
      return results;
    });
  }

  /** Every link (and its snapshot, if any) of the given canonical records, across connections (index lookups per id: see byExternalIds). */
  async loadSyncedStates(canonicalIds: readonly string[], db: Queryable = this.pool): Promise<SyncedState[]> {
    if (canonicalIds.length === 0) return [];
    const result = await db.query<LinkRow & SnapshotRow>(syncedStatesSql('$1::uuid[]'), [textArrayLiteral(canonicalIds)]);
    return result.rows.map(toSyncedState);
  }

  /** loadSyncedStates as a statement to send with others (CanonicalRecordsRepository.withRecordLocks). */
  syncedStatesStatement(canonicalIds: readonly string[]): Statement<SyncedState[]> {
    return { text: syncedStatesSql(`${sqlLiteral(textArrayText(canonicalIds))}::uuid[]`), read: (result) => (result.rows as (LinkRow & SnapshotRow)[]).map(toSyncedState) };
  }

  /**
   * Upserts links and snapshots of a batch in one transaction: all of them land, or none. A state
   * whose link was loaded as it is (`linkSaved`) writes only its snapshot; a snapshot whose link
   * is gone (deleted meanwhile) is not written. Of two states of one record in one connection, the
   * later in the list is saved (what a copy held when read, then what it holds after our write).
   */
  async saveSyncedStates(written: readonly SyncedStateWrite[], db: Queryable = this.pool): Promise<void> {
    const statement = oneStatement(this.syncedStatesWrites(written));
    if (statement) await db.query(statement);
  }

  /**
   * saveSyncedStates as data-modifying statements to run as one (oneStatement). They do not see
   * each other's rows: a snapshot whose link is written here is written without looking its
   * link up.
   */
  syncedStatesWrites(written: readonly SyncedStateWrite[]): string[] {
    if (written.length === 0) return [];
    const states = lastPerPair(written);
    const links = states.filter((state) => !state.linkSaved);
    const statements: string[] = [];
    if (links.length > 0) {
      const column = (values: string[]): string => `${sqlLiteral(textArrayText(values))}::text[]`;
      statements.push(
        `INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id)
         SELECT * FROM unnest(${sqlLiteral(textArrayText(links.map((s) => s.link.canonicalId)))}::uuid[], ${column(links.map((s) => s.link.connectionId))},
                              ${column(links.map((s) => s.link.tenantId))}, ${column(links.map((s) => s.link.objectType))}, ${column(links.map((s) => s.link.externalId))})
         ON CONFLICT (canonical_id, connection_id)
         DO UPDATE SET external_id = EXCLUDED.external_id, updated_at = now()
         -- Most links are already there as they are (the source's, from ensureLinks): rewriting
         -- them would only make dead tuples and index entries, the largest PostgreSQL cost of a backfill.
         WHERE record_links.external_id IS DISTINCT FROM EXCLUDED.external_id`,
      );
    }
    // A link written with it exists; one only loaded earlier is looked up, one index probe each
    // (a subquery under OR stays a per-row probe: as a join, the planner would hash the whole
    // table per batch).
    const rows = jsonRows(states.map((s) => [s.link.canonicalId, s.link.connectionId, s.fields, s.sourceModifiedAt, s.written ?? false, s.linkSaved ?? false]));
    statements.push(
      `INSERT INTO record_snapshots (canonical_id, connection_id, fields, source_modified_at, written_at)
       SELECT u.id, u.conn, u.f, u.m, CASE WHEN u.w THEN now() END
         FROM (SELECT (r->>0)::uuid AS id, r->>1 AS conn, r->2 AS f, (r->>3)::timestamptz AS m, (r->>4)::boolean AS w, (r->>5)::boolean AS loaded
                 FROM jsonb_array_elements(${sqlLiteral(rows)}::jsonb) AS r) AS u
        WHERE NOT u.loaded OR EXISTS (SELECT 1 FROM record_links l WHERE l.canonical_id = u.id AND l.connection_id = u.conn)
       ON CONFLICT (canonical_id, connection_id)
       DO UPDATE SET fields = EXCLUDED.fields, source_modified_at = EXCLUDED.source_modified_at, synced_at = now(),
                     written_at = COALESCE(EXCLUDED.written_at, record_snapshots.written_at)`,
    );
    return statements;
  }

  /** Links of one connection and object that still sync (not archived): the base of the mass-delete share. */
  async countActiveLinks(connectionId: string, objectType: ObjectType): Promise<number> {
    const result = await this.pool.query<{ count: string }>(
      `SELECT count(*) AS count FROM record_links WHERE connection_id = $1 AND object_type = $2 AND archived_at IS NULL`,
      [connectionId, objectType],
    );
    return Number(result.rows[0]?.count ?? 0);
  }

  /**
   * Links of the given records of one connection that still sync: the deletions worth acting on.
   * Records never synced, deletes we made ourselves (their links are already gone) and archived
   * records drop out here.
   */
  async activeLinksOf(connectionId: string, objectType: ObjectType, externalIds: readonly string[]): Promise<RecordLink[]> {
    if (externalIds.length === 0) return [];
    const result = await this.pool.query<LinkRow>(
      `SELECT ${linkColumns.replace(/(\w+)/g, 'l.$1')} FROM ${byExternalIds('record_links', linkColumns)} WHERE l.archived_at IS NULL`,
      [connectionId, objectType, [...externalIds]],
    );
    return result.rows.map(toLink);
  }

  /**
   * The connection's ids of the given canonical records, where they have a copy there, by the id
   * asked (a record merged into another since it was named is followed to the one it became).
   */
  async externalIdsIn(connectionId: string, canonicalIds: readonly string[]): Promise<Map<string, string>> {
    if (canonicalIds.length === 0) return new Map();
    const result = await this.pool.query<{ wanted: string; external_id: string }>(
      `SELECT w.id AS wanted, l.external_id
         FROM unnest($2::uuid[]) AS w (id)
         LEFT JOIN canonical_aliases a ON a.merged_id = w.id
         JOIN record_links l ON l.connection_id = $1 AND l.canonical_id = COALESCE(a.survivor_id, w.id)`,
      [connectionId, [...new Set(canonicalIds)]],
    );
    return new Map(result.rows.map((row) => [row.wanted, row.external_id]));
  }

  /** The links of the given canonical records in one connection. */
  async linksIn(connectionId: string, canonicalIds: readonly string[]): Promise<RecordLink[]> {
    if (canonicalIds.length === 0) return [];
    const result = await this.pool.query<LinkRow>(`SELECT ${linkColumns} FROM record_links WHERE connection_id = $1 AND canonical_id = ANY($2::uuid[])`, [
      connectionId,
      [...canonicalIds],
    ]);
    return result.rows.map(toLink);
  }

  /**
   * Forgets records that are gone from a connection (link and snapshot): a later deletion report
   * of the same record finds nothing to do. A read of one taken just before its delete is not
   * linked again for an hour (deleted_records); a record restored in the CRM after that links
   * again through the sync id it still carries.
   */
  async removeLinks(connectionId: string, canonicalIds: readonly string[]): Promise<number> {
    if (canonicalIds.length === 0) return 0;
    return withTransaction(this.pool, async (tx) => {
      const result = await tx.query<{ object_type: string; external_id: string }>(
        `DELETE FROM record_links WHERE connection_id = $1 AND canonical_id = ANY($2::uuid[]) RETURNING object_type, external_id`,
        [connectionId, [...canonicalIds]],
      );
      await tx.query(
        `INSERT INTO deleted_records (connection_id, object_type, external_id) SELECT $1, o, e FROM unnest($2::text[], $3::text[]) AS u (o, e)
         ON CONFLICT (connection_id, object_type, external_id) DO UPDATE SET deleted_at = now()`,
        [connectionId, result.rows.map((row) => row.object_type), result.rows.map((row) => row.external_id)],
      );
      // A record gone from every CRM is forgotten whole: a person created again later with the
      // same email must not inherit the deleted record's values.
      await tx.query(
        `WITH gone AS (
           SELECT id FROM unnest($1::uuid[]) AS id WHERE NOT EXISTS (SELECT 1 FROM record_links WHERE canonical_id = id)
         ), keys AS (DELETE FROM canonical_match_keys WHERE canonical_id IN (SELECT id FROM gone))
         DELETE FROM canonical_records WHERE canonical_id IN (SELECT id FROM gone)`,
        [[...canonicalIds]],
      );
      return result.rowCount ?? 0;
    });
  }

  /** Marks records of a connection archived: kept in the CRM, no longer synced either way. */
  async archiveLinks(connectionId: string, canonicalIds: readonly string[]): Promise<number> {
    if (canonicalIds.length === 0) return 0;
    const result = await this.pool.query(
      `UPDATE record_links SET archived_at = now(), updated_at = now() WHERE connection_id = $1 AND canonical_id = ANY($2::uuid[]) AND archived_at IS NULL`,
      [connectionId, [...canonicalIds]],
    );
    return result.rowCount ?? 0;
  }
}

/** The last state of each (canonical record, connection) pair, in the order first met. */
function lastPerPair(states: readonly SyncedStateWrite[]): SyncedStateWrite[] {
  const last = new Map<string, Map<string, number>>();
  states.forEach((state, index) => {
    let byConnection = last.get(state.link.canonicalId);
    if (!byConnection) last.set(state.link.canonicalId, (byConnection = new Map<string, number>()));
    byConnection.set(state.link.connectionId, index);
  });
  if (states.length === [...last.values()].reduce((sum, byConnection) => sum + byConnection.size, 0)) return [...states];
  return states.filter((state, index) => last.get(state.link.canonicalId)?.get(state.link.connectionId) === index);
}

/** A match key of a record, normalised (src/connectors/unique-keys.ts): `email` = `ada@example.com`. */
export interface MatchKey {
  field: string;
  value: string;
}

/**
 * `<table> AS l` narrowed to the external ids in $3 of connection $1 and object $2, one index
 * lookup per id. Written as a lateral join on purpose: on a table that grows faster than
 * autovacuum analyses it (a backfill), the planner otherwise scans the connection's whole range
 * and filters it, for every batch.
 */
function byExternalIds(table: string, columns: string): string {
  return `unnest($3::text[]) AS wanted (id)
    CROSS JOIN LATERAL (SELECT ${columns} FROM ${table} WHERE connection_id = $1 AND object_type = $2 AND external_id = wanted.id OFFSET 0) AS l`;
}

const keyOf = (key: MatchKey): string => `${key.field}\u0000${key.value}`;

export interface LinkRequest {
  externalId: string;
  /** The id the record carries in its external-id field (when a UUID), else a fresh one. */
  proposedCanonicalId: string;
  /** The proposed id is the record's own sync id: linked by it, not by its keys. */
  carriesSyncId?: boolean | undefined;
  /** Its match keys, in the connection's order. */
  keys?: readonly MatchKey[] | undefined;
}

export interface MatchRequest {
  canonicalId: string;
  sourceExternalId: string;
  /** Target records holding the same unique key, in order of preference. */
  candidates: readonly string[];
}

export type MatchResult =
  /** `match`: a candidate was linked (merging canonical ids if needed); `existing-link`: the record already was. */
  | { status: 'linked'; canonicalId: string; targetExternalId: string; via: 'match' | 'existing-link'; mergedFrom?: string | undefined }
  /** Every candidate already pairs with another record of the source connection. */
  | { status: 'taken'; canonicalId: string; heldBy: { canonicalId: string; sourceExternalId: string } | undefined };

/**
 * Makes `loser` part of `survivor` (which has no link in any of the loser's connections): links,
 * match keys and conflict history move over. The loser's canonical values and snapshots are
 * dropped: its connections then meet the survivor as on first contact, so their values compete
 * with the survivor's by the fields' policies instead of overwriting them or being overwritten.
 */
async function mergeCanonical(tx: Queryable, loser: string, survivor: string): Promise<void> {
  const links = await tx.query<LinkRow>(`DELETE FROM record_links WHERE canonical_id = $1 RETURNING ${linkColumns}`, [loser]);
  for (const link of links.rows) {
    await tx.query(`INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id) VALUES ($1, $2, $3, $4, $5)`, [
      survivor,
      link.connection_id,
      link.tenant_id,
      link.object_type,
      link.external_id,
    ]);
  }
  await tx.query(`UPDATE canonical_match_keys SET canonical_id = $2 WHERE canonical_id = $1`, [loser, survivor]);
  await tx.query(`DELETE FROM canonical_records WHERE canonical_id = $1`, [loser]);
  await tx.query(`UPDATE conflicts SET canonical_id = $2 WHERE canonical_id = $1`, [loser, survivor]);
  // Other records' links may name the loser: they are followed to the survivor.
  await tx.query(`UPDATE canonical_aliases SET survivor_id = $2 WHERE survivor_id = $1`, [loser, survivor]);
  await tx.query(`INSERT INTO canonical_aliases (merged_id, survivor_id) VALUES ($1, $2) ON CONFLICT (merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id`, [loser, survivor]);
}

const linkColumns = 'canonical_id, tenant_id, object_type, connection_id, external_id, archived_at';

interface LinkRow {
  canonical_id: string;
  tenant_id: string;
  object_type: ObjectType;
  connection_id: string;
  external_id: string;
  archived_at: Date | null;
}

interface SnapshotRow {
  fields: Record<string, unknown> | null;
  source_modified_at: Date | null;
  synced_at: Date | null;
  written_at: Date | null;
}

/** Every link of the canonical records in `ids` (an SQL uuid[] expression), with its snapshot if any. */
function syncedStatesSql(ids: string): string {
  return `SELECT ${linkColumns.replace(/(\w+)/g, 'l.$1')}, s.fields, s.source_modified_at, s.synced_at, s.written_at
         FROM unnest(${ids}) AS wanted (id)
         CROSS JOIN LATERAL (SELECT * FROM record_links WHERE canonical_id = wanted.id OFFSET 0) AS l
         LEFT JOIN LATERAL (
           SELECT fields, source_modified_at, synced_at, written_at FROM record_snapshots
            WHERE canonical_id = l.canonical_id AND connection_id = l.connection_id OFFSET 0
         ) AS s ON true
        ORDER BY l.canonical_id, l.connection_id`;
}

function toSyncedState(row: LinkRow & SnapshotRow): SyncedState {
  return {
    link: toLink(row),
    snapshot: row.fields ? { fields: row.fields, sourceModifiedAt: row.source_modified_at, syncedAt: row.synced_at as Date, writtenAt: row.written_at } : undefined,
  };
}

function toLink(row: LinkRow): RecordLink {
  return {
    canonicalId: row.canonical_id,
    tenantId: row.tenant_id,
    objectType: row.object_type,
    connectionId: row.connection_id,
    externalId: row.external_id,
    archivedAt: row.archived_at,
  };
}
