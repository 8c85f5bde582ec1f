import pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import { sameValue, type CanonicalRecordState, type FieldProvenance } from '../model/sync';
import { prepareSessions, withTransaction, type Queryable } from './database';
import { jsonRows, textArrayLiteral } from './batch-parameters';

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
  async withRecordLocks<T>(locks: { write: readonly RecordLockKey[]; read?: readonly RecordLockKey[] | undefined }, work: () => Promise<T>): Promise<T> {
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
    if (groups.size === 0) return work();
    this.lockPool ??= this.ownPool();
    return withTransaction(this.lockPool, async (tx) => {
      await tx.query(
        `SELECT CASE WHEN shared THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k) END
           FROM (SELECT hashtextextended('record:' || id || ':' || (g->>0), 0) AS k, bool_and((g->>1)::boolean) AS shared
                   FROM jsonb_array_elements($1::jsonb) AS g CROSS JOIN LATERAL jsonb_array_elements_text(g->2) AS id
                  GROUP BY 1 ORDER BY 1) AS ordered`,
        [jsonRows([...groups.values()].map((group) => [group.connectionId, group.shared, group.ids]))],
      );
      return work();
    });
  }

  /**
   * Loads canonical records for update in one transaction (each id's lock taken in one order,
   * missing records start empty), hands them to `change`, and saves those it changed with
   * whatever else it wrote through `tx` (snapshots, conflict decisions): all of it lands, or none.
   * `change` may call a vendor (the target's read and write), so the transaction lasts as long as
   * those calls and runs on a pool of its own.
   */
  async update<T>(
    tenantId: string,
    objectType: ObjectType,
    canonicalIds: readonly string[],
    change: (records: Map<string, CanonicalRecordState>, tx: Queryable) => Promise<{ records: Map<string, CanonicalRecordState>; result: T }>,
  ): Promise<T> {
    const ids = [...new Set(canonicalIds)];
    this.updatePool ??= this.ownPool();
    const idsParameter = textArrayLiteral(ids);
    return withTransaction(this.updatePool, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended('canonical:' || id, 0) AS k FROM unnest($1::text[]) AS id ORDER BY k) AS ordered`, [idsParameter]);
      const rows = await tx.query<CanonicalRow>(`SELECT canonical_id, fields, provenance FROM canonical_records WHERE canonical_id = ANY($1::uuid[])`, [idsParameter]);
      const before = new Map(rows.rows.map((row) => [row.canonical_id, fromRow(row)]));
      const { records, result } = await change(new Map(before), tx);
      const changed = [...records].filter(([id, record]) => !sameValue(before.get(id), record));
      if (changed.length > 0) {
        await tx.query(
          `INSERT INTO canonical_records (canonical_id, tenant_id, object_type, fields, provenance)
           SELECT (r->>0)::uuid, $2, $3, r->1, r->2 FROM jsonb_array_elements($1::jsonb) AS r
           ON CONFLICT (canonical_id) DO UPDATE SET fields = EXCLUDED.fields, provenance = EXCLUDED.provenance, updated_at = now()`,
          [jsonRows(changed.map(([id, record]) => [id, record.fields, storedProvenance(record.provenance)])), tenantId, objectType],
        );
      }
      return result;
    });
  }
}

/**
 * Provenance as stored: most fields of a record share one edit (the copy they came from), so the
 * edits are listed once and each field names its edit by index:
 * `{"edits": [["conn", "2026-…Z", 1000]], "fields": {"email": 0, "phone": 0}}`.
 */
interface StoredProvenance {
  edits?: [string, string | null, number][];
  fields?: Record<string, number>;
}

interface CanonicalRow {
  canonical_id: string;
  fields: CanonicalRecordState['fields'];
  provenance: StoredProvenance;
}

function storedProvenance(provenance: CanonicalRecordState['provenance']): StoredProvenance {
  const edits: [string, string | null, number][] = [];
  const index = new Map<string, number>();
  // The fields of one edit share its object (a merge and fromRow hand out one per edit): it is
  // looked up by identity first, sparing a joined key string per field.
  const indexOf = new Map<FieldProvenance, number>();
  const fields: Record<string, number> = {};
  for (const [field, edit] of Object.entries(provenance)) {
    let at = indexOf.get(edit);
    if (at === undefined) {
      const key = `${edit.connectionId}\u0000${edit.at ?? ''}\u0000${edit.precisionMs}`;
      at = index.get(key);
      if (at === undefined) {
        at = edits.push([edit.connectionId, edit.at, edit.precisionMs]) - 1;
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
  const edits = (row.provenance.edits ?? []).map(([connectionId, at, precisionMs]): FieldProvenance => ({ connectionId, at, precisionMs }));
  for (const [field, at] of Object.entries(row.provenance.fields ?? {})) {
    const edit = edits[at];
    if (edit) provenance[field] = edit;
  }
  return { fields: row.fields, provenance };
}
