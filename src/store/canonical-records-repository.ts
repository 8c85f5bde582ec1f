import pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import { sameValue, type CanonicalRecordState, type FieldProvenance } from '../model/sync';
import { inTransaction, oneStatement, prepareSessions, queryTogether, sqlLiteral, type Queryable, type Statement } from './database';
import { jsonRows, textArrayText } from './batch-parameters';

/**
 * Canonical records (docs/architecture.md, "Canonical record") and the write locks that keep two
 * workers from writing one record of one CRM at once.
 */
/** One canonical record in one connection. */
export interface RecordLockKey {
  canonicalId: string;
  connectionId: string;
}

export class CanonicalRecordsRepository {
  private lockPool: pg.Pool | undefined;
  private updatePool: pg.Pool | undefined;

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Pools of their own, in one order (record locks, then canonical updates, then the ordinary
   * pool, which the connectors' rate budget also uses): a holder of one only ever waits for a
   * connection of a later one, so no two holders can wait for each other.
   */
  private ownPool(): pg.Pool {
    const pool = new pg.Pool({ ...this.pool.options, max: this.pool.options.max ?? 10, allowExitOnIdle: true });
    prepareSessions(pool);
    return pool;
  }

  /**
   * Runs `work` holding the write lock of every (canonical record, connection) pair in `write` and
   * the read lock of those in `read`. A read-merge-write-save of one record in one CRM is then
   * never interleaved with another's (the last writer starts from what the one before it wrote),
   * and a reader of a CRM's copy sees it either before a write there or after its snapshot was
   * saved, never in between. Readers share. Locks are PostgreSQL advisory locks (shared by every
   * worker, released by the server if a worker dies), taken in one order in one statement so
   * two batches never deadlock, on a pool of their own: a holder waiting for an ordinary
   * connection can then never be the reason another holder waits.
   */
  async withRecordLocks<T, S = undefined>(
    locks: { write: readonly RecordLockKey[]; read?: readonly RecordLockKey[] | undefined },
    work: (alongside: S) => Promise<T>,
    /** A read to run once the locks are held, in the same round trip (the synced states of the locked records). */
    alongside?: Statement<S>,
  ): Promise<T> {
    // Keys go grouped by connection (most batches lock one id list in two connections): the
    // lock key is built in SQL from the same text as before, `record:<canonical id>:<connection>`.
    const groups = new Map<string, { connectionId: string; shared: boolean; ids: string[] }>();
    const add = (keys: readonly RecordLockKey[], shared: boolean): void => {
      for (const key of keys) {
        const name = `${shared ? 'r' : 'w'}${key.connectionId}`;
        let group = groups.get(name);
        if (!group) groups.set(name, (group = { connectionId: key.connectionId, shared, ids: [] }));
        group.ids.push(key.canonicalId);
      }
    };
    add(locks.write, false);
    add(locks.read ?? [], true);
    const read = (results: readonly pg.QueryResult[]): S => (alongside ? alongside.read(results[0] as pg.QueryResult) : (undefined as S));
    if (groups.size === 0) return work(read(await queryTogether(this.pool, alongside ? [alongside.text] : [])));
    this.lockPool ??= this.ownPool();
    // The keys are worked out below a fence (OFFSET 0): sorted as the aggregate's input, each
    // would otherwise carry its whole group (every id of it) through the sort, which then cost
    // PostgreSQL more than taking the locks. One row comes back (the count of locks taken), not
    // one per lock.
    const lock = `SELECT count(taken) FROM (SELECT CASE WHEN shared THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k) END AS taken
           FROM (SELECT k, bool_and(shared) AS shared
                   FROM (SELECT hashtextextended('record:' || id || ':' || (g->>0), 0) AS k, (g->>1)::boolean AS shared
                           FROM jsonb_array_elements(${sqlLiteral(jsonRows([...groups.values()].map((group) => [group.connectionId, group.shared, group.ids])))}::jsonb) AS g
                                CROSS JOIN LATERAL jsonb_array_elements_text(g->2) AS id
                         OFFSET 0) AS keyed
                  GROUP BY k ORDER BY k) AS ordered) AS locks`;
    // The read runs after the lock statement has returned, with a snapshot of its own: it sees
    // what the previous holder of these locks saved.
    return inTransaction(this.lockPool, alongside ? [lock, alongside.text] : [lock], async (_client, results) => ({ result: await work(read(results.slice(1))) }));
  }

  /**
   * Loads canonical records for update in one transaction (each id's lock taken in one order,
   * missing records start empty), hands them to `change`, and saves those it changed with
   * whatever else it wrote through `tx` or returned as `writes` (snapshots, conflict decisions:
   * data-modifying statements run with the canonical records' as one, oneStatement): all of it
   * lands, or none. `change` may call a vendor (the target's read and write), so the transaction
   * lasts as long as those calls and runs on a pool of its own. The lock and the read go with the
   * BEGIN, the saves with the COMMIT (inTransaction).
   */
  async update<T>(
    tenantId: string,
    objectType: ObjectType,
    canonicalIds: readonly string[],
    change: (
      records: Map<string, CanonicalRecordState>,
      tx: Queryable,
    ) => Promise<{ records: Map<string, CanonicalRecordState>; result: T; writes?: readonly string[] | undefined }>,
  ): Promise<T> {
    const ids = sqlLiteral(textArrayText([...new Set(canonicalIds)]));
    this.updatePool ??= this.ownPool();
    return inTransaction(
      this.updatePool,
      [
        `SELECT count(taken) FROM (SELECT pg_advisory_xact_lock(k) AS taken FROM (SELECT DISTINCT hashtextextended('canonical:' || id, 0) AS k FROM unnest(${ids}::text[]) AS id ORDER BY k) AS ordered) AS locks`,
        // A statement of its own, after the locks: its snapshot sees what their last holder saved.
        `SELECT canonical_id, fields, provenance FROM canonical_records WHERE canonical_id = ANY(${ids}::uuid[])`,
      ],
      async (tx, [, loaded]) => {
        const before = new Map((loaded as pg.QueryResult<CanonicalRow>).rows.map((row) => [row.canonical_id, fromRow(row)]));
        const { records, result, writes = [] } = await change(new Map(before), tx);
        const changed = [...records].filter(([id, record]) => !sameValue(before.get(id), record));
        const parts = [...writes];
        if (changed.length > 0) {
          parts.push(
            `INSERT INTO canonical_records (canonical_id, tenant_id, object_type, fields, provenance)
             SELECT (r->>0)::uuid, ${sqlLiteral(tenantId)}, ${sqlLiteral(objectType)}, r->1, r->2
               FROM jsonb_array_elements(${sqlLiteral(jsonRows(changed.map(([id, record]) => [id, record.fields, storedProvenance(record.provenance)])))}::jsonb) AS r
             ON CONFLICT (canonical_id) DO UPDATE SET fields = EXCLUDED.fields, provenance = EXCLUDED.provenance, updated_at = now()`,
          );
        }
        // Saved with the COMMIT, as one statement.
        const statement = oneStatement(parts);
        return { result, last: statement ? [statement] : [] };
      },
    );
  }
}

/**
 * Provenance as stored: most fields of a record share one edit (the copy they came from), so the
 * edits are listed once and each field names its edit by index:
 * `{"edits": [["conn", "2026-…Z", 1000]], "fields": {"email": 0, "phone": 0}}`. A fourth element
 * 1 marks a record stamp (FieldProvenance.recordStamp); rows saved before it have none.
 */
type StoredEdit = [string, string | null, number] | [string, string | null, number, 1];

interface StoredProvenance {
  edits?: StoredEdit[];
  fields?: Record<string, number>;
}

interface CanonicalRow {
  canonical_id: string;
  fields: CanonicalRecordState['fields'];
  provenance: StoredProvenance;
}

function storedProvenance(provenance: CanonicalRecordState['provenance']): StoredProvenance {
  const edits: StoredEdit[] = [];
  const index = new Map<string, number>();
  // The fields of one edit share its object (a merge and fromRow hand out one per edit): it is
  // looked up by identity first, sparing a joined key string per field.
  const indexOf = new Map<FieldProvenance, number>();
  const fields: Record<string, number> = {};
  for (const [field, edit] of Object.entries(provenance)) {
    let at = indexOf.get(edit);
    if (at === undefined) {
      const key = `${edit.connectionId}\u0000${edit.at ?? ''}\u0000${edit.precisionMs}\u0000${edit.recordStamp ? 1 : 0}`;
      at = index.get(key);
      if (at === undefined) {
        at = edits.push(edit.recordStamp ? [edit.connectionId, edit.at, edit.precisionMs, 1] : [edit.connectionId, edit.at, edit.precisionMs]) - 1;
        index.set(key, at);
      }
      indexOf.set(edit, at);
    }
    fields[field] = at;
  }
  return { edits, fields };
}

function fromRow(row: CanonicalRow): CanonicalRecordState {
  const provenance: CanonicalRecordState['provenance'] = {};
  // One object per stored edit, shared by its fields (provenance is never changed in place).
  const edits = (row.provenance.edits ?? []).map(([connectionId, at, precisionMs, recordStamp]): FieldProvenance => (recordStamp === 1 ? { connectionId, at, precisionMs, recordStamp: true } : { connectionId, at, precisionMs }));
  for (const [field, at] of Object.entries(row.provenance.fields ?? {})) {
    const edit = edits[at];
    if (edit) provenance[field] = edit;
  }
  return { fields: row.fields, provenance };
}
