import type { ObjectType } from '../model/identifiers';
import { sqlLiteral, type Queryable } from './database';
import { jsonRows } from './batch-parameters';

export interface ConflictCandidate {
  connectionId: string;
  value: unknown;
  modifiedAt: string | null;
}

export interface ConflictDecision {
  tenantId: string;
  objectType: ObjectType;
  canonicalId: string;
  field: string;
  policy: string;
  candidates: ConflictCandidate[];
  winnerConnectionId: string | null;
  decidedValue: unknown;
}

export interface RecordedConflict extends ConflictDecision {
  id: string;
  decidedAt: Date;
}

/** The audit trail of per-field conflict decisions (architecture §4: every decision recorded). */
export class ConflictsRepository {
  constructor(private readonly db: Queryable) {}

  async record(decisions: readonly ConflictDecision[], db: Queryable = this.db): Promise<void> {
    if (decisions.length === 0) return;
    await db.query(insertDecisions('$1::jsonb'), [decisionRows(decisions)]);
  }

  /** record as a data-modifying statement to run with others as one (oneStatement, in CanonicalRecordsRepository.update). */
  recordStatements(decisions: readonly ConflictDecision[]): string[] {
    return decisions.length === 0 ? [] : [insertDecisions(`${sqlLiteral(decisionRows(decisions))}::jsonb`)];
  }

  async listForRecord(tenantId: string, canonicalId: string): Promise<RecordedConflict[]> {
    const result = await this.db.query<{
      id: string;
      tenant_id: string;
      object_type: ObjectType;
      canonical_id: string;
      field: string;
      policy: string;
      candidates: ConflictCandidate[];
      winner_connection_id: string | null;
      decided_value: unknown;
      decided_at: Date;
    }>('SELECT * FROM conflicts WHERE tenant_id = $1 AND canonical_id = $2 ORDER BY id', [tenantId, canonicalId]);
    return result.rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      objectType: row.object_type,
      canonicalId: row.canonical_id,
      field: row.field,
      policy: row.policy,
      candidates: row.candidates,
      winnerConnectionId: row.winner_connection_id,
      decidedValue: row.decided_value,
      decidedAt: row.decided_at,
    }));
  }
}

/** The decisions in `rows` (an SQL jsonb expression of decisionRows). */
function insertDecisions(rows: string): string {
  return `INSERT INTO conflicts (tenant_id, object_type, canonical_id, field, policy, candidates, winner_connection_id, decided_value)
       SELECT r->>0, r->>1, (r->>2)::uuid, r->>3, r->>4, r->5, r->>6, r->7 FROM jsonb_array_elements(${rows}) AS r`;
}

function decisionRows(decisions: readonly ConflictDecision[]): string {
  return jsonRows(decisions.map((d) => [d.tenantId, d.objectType, d.canonicalId, d.field, d.policy, d.candidates, d.winnerConnectionId, d.decidedValue ?? null]));
}
