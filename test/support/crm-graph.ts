import { expect } from 'vitest';
import type { References } from '../../src/model/canonical';
import type { CrmProvider, ObjectType } from '../../src/model/identifiers';
import { RecordLinksRepository } from '../../src/store/record-links-repository';
import { applyDependencies } from './apply-dependencies';
import type { SyncHarness } from './sync-harness';

/**
 * The CRM graph of issue #14 (a company, three contacts, a deal with two of them, a call and a
 * task) as canonical ids, read through each CRM's connector, and the expectation that every CRM
 * holds it: shared by test/e2e/crm-graph*.test.ts.
 */

export interface Graph {
  companyOfContacts: Record<string, string | null | undefined>;
  deal: { company?: string | null | undefined; contacts?: string[] | undefined; primaryContact?: string | null | undefined };
  activities: Record<string, { kind?: unknown; deal?: string | null | undefined; contacts?: string[] | undefined }>;
}

export interface Ids {
  company: string;
  contacts: string[];
  deal: string;
  /** A call, then a task. */
  activities: string[];
}

/** Slots a vendor does not hold (BEHAVIOR.md of each connector): absent from its reads. */
export const cannotHold: Record<CrmProvider, { dealPrimary?: boolean; taskContacts?: boolean }> = {
  salesforce: {},
  // A deal has no primary contact in HubSpot.
  hubspot: { dealPrimary: true },
  // A Dataverse task has no contact parties (a phone call has).
  dynamics: { taskContacts: true },
  pipedrive: {},
  zoho: {},
};

/** Reads and expectations over one harness's connections (the graph as canonical ids). */
export function graphTools(harness: () => SyncHarness, connections: () => { id: string; provider: CrmProvider }[]) {
  const links = () => new RecordLinksRepository(harness().db.pool);

  /** The canonical ids of a source's records, once its workflow has linked them. */
  async function canonicalIds(connectionId: string, objectType: ObjectType, externalIds: readonly string[]): Promise<string[]> {
    let found = new Map<string, string>();
    await expect
      .poll(
        async () => {
          found = await links().canonicalIdsOf(connectionId, objectType, externalIds);
          return found.size;
        },
        { timeout: 120_000, interval: 500 },
      )
      .toBe(new Set(externalIds).size);
    return externalIds.map((id) => found.get(id)!);
  }

  /** What a connection holds of the graph, as canonical ids (undefined: a record not there yet, or a slot not read). */
  async function graphIn(connectionId: string, ids: Ids): Promise<Graph> {
    const connector = await applyDependencies(harness()).connectors.forConnection(connectionId);
    const canonical = async (objectType: ObjectType, value: References[string] | undefined): Promise<string | null | undefined | string[]> => {
      if (value === undefined || value === null) return value;
      const list = Array.isArray(value) ? value : [value];
      const map = await links().canonicalIdsOf(connectionId, objectType, list);
      const translated = list.map((id) => map.get(id) ?? `unlinked:${id}`);
      return Array.isArray(value) ? translated.sort() : translated[0];
    };
    const read = async (objectType: ObjectType, canonicalId: string) => {
      const externalId = (await links().externalIdsIn(connectionId, [canonicalId])).get(canonicalId);
      return externalId ? (await connector.readRecords(objectType, [externalId]))[0] : undefined;
    };
    const graph: Graph = { companyOfContacts: {}, deal: {}, activities: {} };
    for (const contact of ids.contacts) graph.companyOfContacts[contact] = (await canonical('company', (await read('contact', contact))?.references.company)) as string | null | undefined;
    const deal = await read('deal', ids.deal);
    graph.deal = {
      company: (await canonical('company', deal?.references.company)) as string | null | undefined,
      contacts: (await canonical('contact', deal?.references.contacts)) as string[] | undefined,
      primaryContact: (await canonical('contact', deal?.references.primaryContact)) as string | null | undefined,
    };
    for (const activity of ids.activities) {
      const record = await read('activity', activity);
      graph.activities[activity] = {
        kind: record?.fields.kind,
        deal: (await canonical('deal', record?.references.deal)) as string | null | undefined,
        contacts: (await canonical('contact', record?.references.contacts)) as string[] | undefined,
      };
    }
    return graph;
  }

  function expectedIn(provider: CrmProvider, ids: Ids, deal: { contacts: string[]; primaryContact: string | null }, activityContacts: Record<string, string[]>): Graph {
    const limits = cannotHold[provider];
    return {
      companyOfContacts: Object.fromEntries(ids.contacts.map((contact) => [contact, ids.company])),
      deal: { company: ids.company, contacts: [...deal.contacts].sort(), primaryContact: limits.dealPrimary ? undefined : deal.primaryContact },
      activities: Object.fromEntries(
        ids.activities.map((activity, index) => [activity, { kind: index === 0 ? 'call' : 'task', deal: ids.deal, contacts: index > 0 && limits.taskContacts ? undefined : activityContacts[activity] }]),
      ),
    };
  }

  async function expectEverywhere(ids: Ids, deal: { contacts: string[]; primaryContact: string | null }, activityContacts: Record<string, string[]>): Promise<void> {
    for (const connection of connections()) {
      const expected = expectedIn(connection.provider, ids, deal, activityContacts);
      try {
        await expect.poll(() => graphIn(connection.id, ids), { timeout: 120_000, interval: 1_000 }).toEqual(expected);
      } catch (error) {
        // expect.poll reports no diff: show what this CRM holds against what it should.
        const held = await graphIn(connection.id, ids);
        // What the engine decided and why: each record's canonical reference fields with their provenance, and what each CRM was last known to hold.
        if (JSON.stringify(held) !== JSON.stringify(expected)) console.error(`the graph in ${connection.provider}, as the store holds it:\n${await storeDump([ids.deal, ...ids.activities])}`);
        expect(held, `the graph in ${connection.provider}`).toEqual(expected);
        throw error;
      }
    }
  }

  async function storeDump(canonicalIds: readonly string[]): Promise<string> {
    const pool = harness().db.pool;
    const records = await pool.query<{ canonical_id: string; fields: Record<string, unknown>; provenance: { edits: unknown[]; fields: Record<string, number> } }>(
      'SELECT canonical_id, fields, provenance FROM canonical_records WHERE canonical_id = ANY($1::uuid[])',
      [canonicalIds],
    );
    const snapshots = await pool.query<{ canonical_id: string; connection_id: string; fields: Record<string, unknown>; source_modified_at: Date | null; written_at: Date | null }>(
      'SELECT canonical_id, connection_id, fields, source_modified_at, written_at FROM record_snapshots WHERE canonical_id = ANY($1::uuid[]) ORDER BY canonical_id, connection_id',
      [canonicalIds],
    );
    const referencesOnly = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([path]) => path.startsWith('@')));
    return [
      ...records.rows.map((row) => {
        const provenance = Object.fromEntries(Object.entries(row.provenance.fields ?? {}).filter(([path]) => path.startsWith('@')).map(([path, index]) => [path, row.provenance.edits[index]]));
        return `canonical ${row.canonical_id}: ${JSON.stringify(referencesOnly(row.fields))}\n  provenance ${JSON.stringify(provenance)}`;
      }),
      ...snapshots.rows.map((row) => `snapshot ${row.canonical_id} in ${row.connection_id} (modified ${row.source_modified_at?.toISOString()}, written ${row.written_at?.toISOString()}): ${JSON.stringify(referencesOnly(row.fields))}`),
    ].join('\n');
  }

  return { canonicalIds, graphIn, expectEverywhere };
}

