import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { CanonicalRecordsRepository } from '../../src/store/canonical-records-repository';
import { ConflictsRepository } from '../../src/store/conflicts-repository';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { createPool, inTransaction, queryTogether, sqlLiteral } from '../../src/store/database';
import { migrateUp } from '../../src/store/migrate';
import { PendingReferencesRepository } from '../../src/store/pending-references-repository';
import { RecordLinksRepository, type SyncedStateWrite } from '../../src/store/record-links-repository';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const secretToken = `rt-${randomBytes(12).toString('hex')}`;
const secretClientSecret = `cs-${randomBytes(12).toString('hex')}`;

describe('PostgreSQL store', () => {
  let db: TestDatabase;
  let cipher: CredentialCipher;
  let connections: ConnectionsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    cipher = new CredentialCipher(new Map([['k1', randomBytes(32)]]), 'k1');
    connections = new ConnectionsRepository(db.pool, cipher);
    await connections.addTenant('acme', 'Acme Corp');
    for (const [id, provider] of [['acme-sf', 'salesforce'], ['acme-hs', 'hubspot']] as const) {
      await connections.addConnection({
        id,
        tenantId: 'acme',
        provider,
        settings: { instanceUrl: 'http://127.0.0.1:1' },
        credentials: { refreshToken: secretToken, clientSecret: secretClientSecret },
      });
    }
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('migrates an empty schema up, and a second run finds nothing pending', async () => {
    expect(db.applied).toEqual(['1763856000000_initial-schema', '1763942400000_rate-budgets', '1764028800000_record-link-archive', '1764115200000_rate-budget-buckets', '1764288000000_canonical-records', '1764374400000_lean-record-writes', '1764460800000_links-without-connection-key', '1764547200000_connection-tokens', '1764633600000_pending-references', '1764721500000_oauth-consents', '1764727200000_parked-overflow', '1764800000000_webhook-subscriptions', '1764810000000_held-deletions', '1764820000000_webhook-dispatch-keys']);
    const tables = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'pgmigrations' ORDER BY 1`,
      [db.schema],
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(['canonical_aliases', 'canonical_match_keys', 'canonical_records', 'conflicts', 'connection_tokens', 'connections', 'deleted_records', 'held_deletions', 'oauth_consents', 'parked_records', 'pending_references', 'rate_budget_buckets', 'record_links', 'record_snapshots', 'tenants', 'webhook_registrations', 'webhook_subscriptions']);
    await expect(migrateUp({ databaseUrl: inject('testDatabaseUrl'), schema: db.schema })).resolves.toEqual([]);
  });

  it('lets concurrent migrators of one schema wait for each other instead of failing', async () => {
    const schema = `${db.schema}_concurrent`;
    const runs = await Promise.all([0, 1, 2].map(() => migrateUp({ databaseUrl: inject('testDatabaseUrl'), schema })));
    expect(runs.map((applied) => applied.length).sort()).toEqual([0, 0, db.applied.length]);
    await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it('stores credentials only as ciphertext, and opens them for the right connection', async () => {
    const raw = await db.pool.query<{ row: string }>('SELECT row_to_json(c)::text AS row FROM connections c');
    const everything = raw.rows.map((row) => row.row).join('\n');
    expect(everything).toContain('acme-sf');
    for (const secret of [secretToken, secretClientSecret]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('hex'));
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }
    await expect(connections.loadCredentials('acme-sf')).resolves.toEqual({ refreshToken: secretToken, clientSecret: secretClientSecret });
  });

  it('refuses an envelope moved onto another connection row', async () => {
    await db.pool.query(
      `UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE id = 'acme-sf') WHERE id = 'acme-hs'`,
    );
    await expect(connections.loadCredentials('acme-hs')).rejects.toThrow('credentials for "acme-hs" failed authentication under key "k1"');
    await connections.replaceCredentials('acme-hs', { token: 'fresh' });
    await expect(connections.loadCredentials('acme-hs')).resolves.toEqual({ token: 'fresh' });
  });

  it('writes a link and its snapshot in one transaction and reads them back together', async () => {
    const links = new RecordLinksRepository(db.pool);
    const canonicalId = randomUUID();
    const modifiedAt = new Date('2026-11-20T10:00:00.000Z');
    const writes: SyncedStateWrite[] = [
      { link: { canonicalId, tenantId: 'acme', objectType: 'contact', connectionId: 'acme-sf', externalId: '003000000000001AAA' }, fields: { email: 'ada@example.com', firstName: 'Ada' }, sourceModifiedAt: modifiedAt },
      { link: { canonicalId, tenantId: 'acme', objectType: 'contact', connectionId: 'acme-hs', externalId: '901' }, fields: { email: 'ada@example.com', firstName: 'Ada' }, sourceModifiedAt: null },
    ];
    await links.saveSyncedStates(writes);

    const states = await links.loadSyncedStates([canonicalId]);
    expect(states.map((state) => ({ link: state.link, fields: state.snapshot?.fields, sourceModifiedAt: state.snapshot?.sourceModifiedAt }))).toEqual([
      { link: { ...writes[1]!.link, archivedAt: null }, fields: writes[1]!.fields, sourceModifiedAt: null },
      { link: { ...writes[0]!.link, archivedAt: null }, fields: writes[0]!.fields, sourceModifiedAt: modifiedAt },
    ]);
    await expect(links.findByExternalId('acme-hs', 'contact', '901')).resolves.toEqual({ ...writes[1]!.link, archivedAt: null });

    // Deletes: an archived link no longer counts as synced; a removed one takes its snapshot along.
    expect(await links.countActiveLinks('acme-hs', 'contact')).toBe(1);
    expect(await links.archiveLinks('acme-hs', [canonicalId])).toBe(1);
    expect(await links.archiveLinks('acme-hs', [canonicalId])).toBe(0);
    expect(await links.countActiveLinks('acme-hs', 'contact')).toBe(0);
    expect(await links.activeLinksOf('acme-hs', 'contact', ['901'])).toEqual([]);
    expect((await links.linksIn('acme-hs', [canonicalId]))[0]?.archivedAt).toBeInstanceOf(Date);
    expect((await links.activeLinksOf('acme-sf', 'contact', ['003000000000001AAA', 'unknown'])).map((link) => link.externalId)).toEqual(['003000000000001AAA']);
    expect(await links.removeLinks('acme-sf', [canonicalId])).toBe(1);
    expect((await links.loadSyncedStates([canonicalId])).map((state) => state.link.connectionId)).toEqual(['acme-hs']);
  });

  it('keeps every character of a batch as sent: quotes, backslashes, control characters, astral ones', async () => {
    const links = new RecordLinksRepository(db.pool);
    const canonical = new CanonicalRecordsRepository(db.pool);
    // (PostgreSQL holds neither U+0000 nor a lone surrogate, in text or JSON: left out.)
    const awkward = ['a "quoted" \\ name', 'line\nbreak\ttab\u0001\u001f', 'ünï 😀 \u2028', 'a \\n b', '{},NULL', 'NULL', ''];
    const ids = awkward.map(() => randomUUID());
    const modifiedAt = new Date('2026-11-20T10:00:00.123Z');
    await links.saveSyncedStates(
      awkward.map((text, index) => ({
        link: { canonicalId: ids[index] as string, tenantId: 'acme', objectType: 'contact' as const, connectionId: 'acme-hs', externalId: `x ${text} ${index}` },
        fields: { lastName: text, custom: { note: text, list: [text, null] } },
        sourceModifiedAt: index % 2 === 0 ? modifiedAt : null,
      })),
    );
    const states = await links.loadSyncedStates(ids);
    expect(new Map(states.map((state) => [state.link.canonicalId, [state.link.externalId, state.snapshot?.fields, state.snapshot?.sourceModifiedAt]]))).toEqual(
      new Map(awkward.map((text, index) => [ids[index], [`x ${text} ${index}`, { lastName: text, custom: { note: text, list: [text, null] } }, index % 2 === 0 ? modifiedAt : null]])),
    );
    expect(await links.canonicalIdsOf('acme-hs', 'contact', awkward.map((text, index) => `x ${text} ${index}`))).toEqual(new Map(awkward.map((text, index) => [`x ${text} ${index}`, ids[index]])));

    const edit = { connectionId: 'acme-hs', at: modifiedAt.toISOString(), precisionMs: 1 };
    // The same time as a record stamp (FieldProvenance.recordStamp) is another edit, kept as such.
    const stamp = { ...edit, recordStamp: true as const };
    await canonical.update('acme', 'contact', ids, async (records) => {
      ids.forEach((id, index) => records.set(id, { fields: { lastName: awkward[index], title: 'CTO' }, provenance: { lastName: edit, title: stamp } }));
      return { records, result: undefined };
    });
    const stored = await canonical.update('acme', 'contact', ids, async (records) => ({ records, result: new Map(records) }));
    expect(stored).toEqual(new Map(ids.map((id, index) => [id, { fields: { lastName: awkward[index], title: 'CTO' }, provenance: { lastName: edit, title: stamp } }])));
  });

  it('saves the later of two states of one record in one connection (read, then written), links new and loaded alike', async () => {
    const links = new RecordLinksRepository(db.pool);
    const canonicalId = randomUUID();
    const hubspot = { canonicalId, tenantId: 'acme', objectType: 'contact' as const, connectionId: 'acme-hs', externalId: '777' };
    const salesforce = { ...hubspot, connectionId: 'acme-sf', externalId: '003000000000777AAA' };
    await links.saveSyncedStates([{ link: salesforce, fields: { title: 'Engineer' }, sourceModifiedAt: null }]);
    await links.saveSyncedStates([
      { link: salesforce, fields: { title: 'CTO' }, sourceModifiedAt: new Date('2026-11-20T10:00:00Z'), linkSaved: true },
      { link: hubspot, fields: { title: 'Engineer' }, sourceModifiedAt: null, linkSaved: false },
      { link: hubspot, fields: { title: 'CTO' }, sourceModifiedAt: new Date('2026-11-20T10:00:01Z'), written: true, linkSaved: false },
    ]);
    const states = await links.loadSyncedStates([canonicalId]);
    expect(states.map((state) => [state.link.externalId, state.snapshot?.fields, state.snapshot?.sourceModifiedAt?.toISOString(), state.snapshot?.writtenAt instanceof Date])).toEqual([
      ['777', { title: 'CTO' }, '2026-11-20T10:00:01.000Z', true],
      ['003000000000777AAA', { title: 'CTO' }, '2026-11-20T10:00:00.000Z', false],
    ]);
  });

  it('holds record locks under the keys every worker version uses: write exclusive, read shared, released with the work', async () => {
    const canonical = new CanonicalRecordsRepository(db.pool);
    const [written, read, both] = [randomUUID(), randomUUID(), randomUUID()];
    // Another session trying the locks by their documented key, `record:<canonical id>:<connection>`.
    const tryLock = async (canonicalId: string, connectionId: string, shared: boolean): Promise<boolean> => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        const fn = shared ? 'pg_try_advisory_xact_lock_shared' : 'pg_try_advisory_xact_lock';
        const result = await client.query<{ got: boolean }>(`SELECT ${fn}(hashtextextended('record:' || $1 || ':' || $2, 0)) AS got`, [canonicalId, connectionId]);
        return result.rows[0]?.got === true;
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    const held = await canonical.withRecordLocks(
      { write: [{ canonicalId: written, connectionId: 'acme-hs' }, { canonicalId: both, connectionId: 'acme-hs' }], read: [{ canonicalId: read, connectionId: 'acme-sf' }, { canonicalId: both, connectionId: 'acme-hs' }] },
      async () => ({
        written: [await tryLock(written, 'acme-hs', false), await tryLock(written, 'acme-hs', true), await tryLock(written, 'acme-sf', false)],
        read: [await tryLock(read, 'acme-sf', false), await tryLock(read, 'acme-sf', true)],
        // Asked for both: the write lock wins.
        both: [await tryLock(both, 'acme-hs', true)],
      }),
    );
    expect(held).toEqual({ written: [false, false, true], read: [false, true], both: [false] });
    expect([await tryLock(written, 'acme-hs', false), await tryLock(read, 'acme-sf', false), await tryLock(both, 'acme-hs', false)]).toEqual([true, true, true]);
  });

  it('writes nothing of a batch when one of its rows is refused', async () => {
    const links = new RecordLinksRepository(db.pool);
    const first = randomUUID();
    await links.saveSyncedStates([
      { link: { canonicalId: first, tenantId: 'acme', objectType: 'company', connectionId: 'acme-sf', externalId: '001A' }, fields: { name: 'Acme' }, sourceModifiedAt: null },
    ]);
    const fresh = randomUUID();
    const clash = randomUUID();
    const batch: SyncedStateWrite[] = [
      { link: { canonicalId: fresh, tenantId: 'acme', objectType: 'company', connectionId: 'acme-sf', externalId: '001B' }, fields: { name: 'Beta' }, sourceModifiedAt: null },
      // 001A already belongs to another canonical record: linking it twice would merge two records.
      { link: { canonicalId: clash, tenantId: 'acme', objectType: 'company', connectionId: 'acme-sf', externalId: '001A' }, fields: { name: 'Dup' }, sourceModifiedAt: null },
    ];
    await expect(links.saveSyncedStates(batch)).rejects.toThrow(/record_links_connection_id_object_type_external_id_key/);
    await expect(links.loadSyncedStates([fresh, clash])).resolves.toEqual([]);
    expect((await links.loadSyncedStates([first]))[0]?.snapshot?.fields).toEqual({ name: 'Acme' });
  });

  it('keeps snapshots with their links and canonical records with their tenant, without a foreign key on the write path', async () => {
    const links = new RecordLinksRepository(db.pool);
    const canonicalId = randomUUID();
    const link = { canonicalId, tenantId: 'acme', objectType: 'contact' as const, connectionId: 'acme-sf', externalId: '003LEAN' };
    await links.saveSyncedStates([{ link, fields: { email: 'lean@example.com' }, sourceModifiedAt: null }]);
    const snapshots = async (): Promise<number> => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM record_snapshots WHERE canonical_id = $1`, [canonicalId])).rows[0]?.n);
    expect(await snapshots()).toBe(1);

    // A link deleted (here by hand, as a cascade from its connection would) takes its snapshot along.
    await db.pool.query(`DELETE FROM record_links WHERE canonical_id = $1`, [canonicalId]);
    expect(await snapshots()).toBe(0);
    // A snapshot of a link loaded earlier and deleted meanwhile is not written: no orphan, no link brought back.
    await links.saveSyncedStates([{ link, fields: { email: 'lean@example.com' }, sourceModifiedAt: null, linkSaved: true }]);
    expect(await snapshots()).toBe(0);
    await expect(links.loadSyncedStates([canonicalId])).resolves.toEqual([]);

    // A tenant deleted takes its connections, links, snapshots, canonical records and match keys.
    await connections.addTenant('gone', 'Gone Ltd');
    await connections.addConnection({ id: 'gone-hs', tenantId: 'gone', provider: 'hubspot', settings: {}, credentials: { accessToken: 'x' } });
    const person = randomUUID();
    await links.saveSyncedStates([{ link: { canonicalId: person, tenantId: 'gone', objectType: 'contact', connectionId: 'gone-hs', externalId: '1' }, fields: { email: 'x@gone.example' }, sourceModifiedAt: null }]);
    await links.claimKeys('gone', 'contact', [{ field: 'email', value: 'x@gone.example', canonicalId: person }]);
    await db.pool.query(`INSERT INTO canonical_records (canonical_id, tenant_id, object_type, fields) VALUES ($1, 'gone', 'contact', '{}')`, [person]);
    await db.pool.query(`DELETE FROM tenants WHERE id = 'gone'`);
    const left = await db.pool.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM record_links WHERE tenant_id = 'gone') + (SELECT count(*) FROM record_snapshots WHERE canonical_id = $1)
            + (SELECT count(*) FROM canonical_records WHERE tenant_id = 'gone') + (SELECT count(*) FROM canonical_match_keys WHERE tenant_id = 'gone') AS n`,
      [person],
    );
    expect(Number(left.rows[0]?.n)).toBe(0);
  });

  it('forgets the links and snapshots of a deleted connection, and only those', async () => {
    const links = new RecordLinksRepository(db.pool);
    await connections.addConnection({ id: 'acme-gone', tenantId: 'acme', provider: 'hubspot', settings: {}, credentials: { accessToken: 'x' } });
    const person = randomUUID();
    const link = (connectionId: string) => ({ canonicalId: person, tenantId: 'acme', objectType: 'contact' as const, connectionId, externalId: `gone-${person}` });
    await links.saveSyncedStates([link('acme-gone'), link('acme-sf')].map((l) => ({ link: l, fields: { email: 'x@acme.example' }, sourceModifiedAt: null })));
    await db.pool.query(`DELETE FROM connections WHERE id = 'acme-gone'`);
    expect((await links.loadSyncedStates([person])).map((state) => [state.link.connectionId, state.snapshot?.fields])).toEqual([['acme-sf', { email: 'x@acme.example' }]]);
    expect(Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM record_snapshots WHERE connection_id = 'acme-gone'`)).rows[0]?.n)).toBe(0);
  });

  it('keeps links waiting for related records by target, replaces them when the holder is written again, and forgets them with the connection', async () => {
    const pending = new PendingReferencesRepository(db.pool);
    await connections.addConnection({ id: 'acme-wait', tenantId: 'acme', provider: 'hubspot', settings: {}, credentials: { accessToken: 'x' } });
    const [deal, contact, company] = [randomUUID(), randomUUID(), randomUUID()];
    const holder = { tenantId: 'acme', targetConnectionId: 'acme-wait', holderCanonicalId: deal, holderObjectType: 'deal' as const };
    const run = async (statements: string[]) => {
      for (const statement of statements) await db.pool.query(statement);
    };
    await run(pending.replaceStatements([{ ...holder, pending: [{ slot: 'contacts', canonicalId: contact, objectType: 'contact' }, { slot: 'company', canonicalId: company, objectType: 'company' }] }]));
    expect(await pending.holdersWaitingFor('acme-wait', [contact])).toEqual([{ tenantId: 'acme', holderCanonicalId: deal, holderObjectType: 'deal' }]);
    expect(await pending.holdersWaitingFor('acme-sf', [contact])).toEqual([]);
    // The contact lands there (another worker's apply): the deal's own apply finds it can be written whole now.
    expect(await pending.holdersNowResolvable('acme-wait', [deal])).toEqual([]);
    await new RecordLinksRepository(db.pool).saveSyncedStates([{ link: { canonicalId: contact, tenantId: 'acme', objectType: 'contact', connectionId: 'acme-wait', externalId: `c-${contact}` }, fields: {}, sourceModifiedAt: null }]);
    expect(await pending.holdersNowResolvable('acme-wait', [deal])).toEqual([{ tenantId: 'acme', holderCanonicalId: deal, holderObjectType: 'deal' }]);
    // Written again with its company: only the contact still waits.
    await run(pending.replaceStatements([{ ...holder, pending: [{ slot: 'contacts', canonicalId: contact, objectType: 'contact' }] }]));
    expect((await pending.list({ tenantId: 'acme' })).map((row) => [row.slot, row.relatedCanonicalId])).toEqual([['contacts', contact]]);
    await db.pool.query(`DELETE FROM connections WHERE id = 'acme-wait'`);
    expect(await pending.list({ tenantId: 'acme' })).toEqual([]);
  });

  it('follows a canonical record merged into another to the copy it became', async () => {
    const links = new RecordLinksRepository(db.pool);
    const [loser, survivor] = [randomUUID(), randomUUID()];
    const externalId = `003${survivor.slice(0, 8)}`;
    await links.saveSyncedStates([{ link: { canonicalId: survivor, tenantId: 'acme', objectType: 'contact', connectionId: 'acme-sf', externalId }, fields: {}, sourceModifiedAt: null }]);
    await db.pool.query(`INSERT INTO canonical_aliases (merged_id, survivor_id) VALUES ($1, $2)`, [loser, survivor]);
    expect(await links.externalIdsIn('acme-sf', [loser, survivor, randomUUID()])).toEqual(
      new Map([
        [loser, externalId],
        [survivor, externalId],
      ]),
    );
  });

  it('links each external record once, to the id its CRM carries or a fresh one, even when callers race', async () => {
    const links = new RecordLinksRepository(db.pool);
    const carried = randomUUID();
    const proposals = (): { externalId: string; proposedCanonicalId: string }[] => [
      { externalId: '003RACE1', proposedCanonicalId: carried },
      { externalId: '003RACE2', proposedCanonicalId: randomUUID() },
    ];
    const [first, second] = await Promise.all([
      links.ensureLinks('acme', 'acme-sf', 'contact', proposals()),
      links.ensureLinks('acme', 'acme-sf', 'contact', proposals()),
    ]);
    expect(first).toEqual(second);
    expect(first.get('003RACE1')).toBe(carried);
    expect(first.size).toBe(2);
    const again = await links.ensureLinks('acme', 'acme-sf', 'contact', proposals());
    expect(again).toEqual(first);
  });

  it('gives copies of one person met by two connections at once one canonical record, by match key', async () => {
    const links = new RecordLinksRepository(db.pool);
    const request = (externalId: string) => [{ externalId, proposedCanonicalId: randomUUID(), keys: [{ field: 'email', value: 'ada@race.example' }] }];
    for (let round = 0; round < 5; round += 1) {
      const [salesforce, hubspot] = await Promise.all([
        links.ensureLinks('acme', 'acme-sf', 'contact', request(`003KEY${round}`)),
        links.ensureLinks('acme', 'acme-hs', 'contact', request(`9${round}`)),
      ]);
      expect(salesforce.get(`003KEY${round}`)).toBe(hubspot.get(`9${round}`));
      // A second record of the same CRM with the same key is a duplicate there: its own record.
      const duplicate = await links.ensureLinks('acme', 'acme-sf', 'contact', request(`003DUP${round}`));
      expect(duplicate.get(`003DUP${round}`)).not.toBe(salesforce.get(`003KEY${round}`));
      await links.removeLinks('acme-sf', [salesforce.get(`003KEY${round}`)!, duplicate.get(`003DUP${round}`)!]);
      await links.removeLinks('acme-hs', [hubspot.get(`9${round}`)!]);
    }
    // Gone from every CRM, the person is forgotten: the next copy starts a new record.
    const [fresh] = [...(await links.ensureLinks('acme', 'acme-hs', 'contact', request('9fresh'))).values()];
    const keys = await db.pool.query<{ canonical_id: string }>(`SELECT canonical_id FROM canonical_match_keys WHERE value = 'ada@race.example'`);
    expect(keys.rows.map((row) => row.canonical_id)).toEqual([fresh]);
  });

  /**
   * A create of ours meeting a HubSpot contact someone made meanwhile (or first-sync matching)
   * links it under the matching lock, while the target's own feed links the same contact by its
   * email (ensureLinks) without that lock. The feed's insert is held open here until matching
   * waits on it, then committed: matching must take that link, not fail on the duplicate key.
   */
  it("links a match once when the target's feed links the same pair at that moment, without a duplicate-key failure", async () => {
    const links = new RecordLinksRepository(db.pool);
    const canonicalId = (await links.ensureLinks('acme', 'acme-sf', 'contact', [{ externalId: '003MEANWHILE', proposedCanonicalId: randomUUID() }])).get('003MEANWHILE')!;
    const feed = await db.pool.connect();
    try {
      await feed.query('BEGIN');
      await feed.query(`INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id) VALUES ($1, 'acme-hs', 'acme', 'contact', '9MEANWHILE')`, [canonicalId]);
      const feedPid = (await feed.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const adopting = links.adoptMatches('acme', 'contact', 'acme-sf', 'acme-hs', [{ canonicalId, sourceExternalId: '003MEANWHILE', candidates: ['9MEANWHILE'] }]);
      const blocked = async (): Promise<number> =>
        Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))`, [feedPid])).rows[0]!.n);
      await expect.poll(blocked, { timeout: 10_000, interval: 20 }).toBe(1);
      await feed.query('COMMIT');
      expect(await adopting).toEqual([{ status: 'linked', canonicalId, targetExternalId: '9MEANWHILE', via: 'existing-link' }]);
    } finally {
      feed.release();
    }
    const stored = await db.pool.query(`SELECT canonical_id, external_id FROM record_links WHERE connection_id = 'acme-hs' AND external_id = '9MEANWHILE'`);
    expect(stored.rows).toEqual([{ canonical_id: canonicalId, external_id: '9MEANWHILE' }]);
  });

  it('migrates existing links and snapshots into canonical records and match keys', async () => {
    const schema = `${db.schema}_upgrade`;
    const url = inject('testDatabaseUrl');
    await migrateUp({ databaseUrl: url, schema, count: 4 });
    const pool = createPool(url, { schema, max: 2 });
    try {
      await pool.query(`INSERT INTO tenants (id, name) VALUES ('old', 'Old')`);
      for (const id of ['old-sf', 'old-hs']) await pool.query(`INSERT INTO connections (id, tenant_id, provider, credentials, credentials_key_id) VALUES ($1, 'old', 'hubspot', '\\x00', 'k')`, [id]);
      const person = randomUUID();
      await pool.query(`INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id) VALUES ($1, 'old-sf', 'old', 'contact', '003OLD'), ($1, 'old-hs', 'old', 'contact', '77')`, [person]);
      await pool.query(
        `INSERT INTO record_snapshots (canonical_id, connection_id, fields, synced_at) VALUES ($1, 'old-sf', '{"email":"Old@Example.com","phone":"1"}', now() - interval '1 hour'), ($1, 'old-hs', '{"email":"old@example.com","phone":"2"}', now())`,
        [person],
      );
      expect(await migrateUp({ databaseUrl: url, schema, count: 1 })).toEqual(['1764288000000_canonical-records']);
      const canonical = await pool.query(`SELECT fields, provenance FROM canonical_records WHERE canonical_id = $1`, [person]);
      expect(canonical.rows).toEqual([{ fields: { email: 'old@example.com', phone: '2' }, provenance: {} }]);
      const keys = await pool.query(`SELECT field, value, canonical_id FROM canonical_match_keys`);
      expect(keys.rows).toEqual([{ field: 'email', value: 'old@example.com', canonical_id: person }]);
    } finally {
      await pool.end();
      await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  it('runs sessions without JIT, keeping the URL\'s own libpq options beside the pool\'s schema', async () => {
    const url = new URL(inject('testDatabaseUrl'));
    url.searchParams.set('options', '-c application_name=crm-sync-test');
    const pool = createPool(url.toString(), { schema: db.schema, max: 1 });
    try {
      const settings = await pool.query<{ jit: string; app: string; path: string }>(
        `SELECT current_setting('jit') AS jit, current_setting('application_name') AS app, current_setting('search_path') AS path`,
      );
      expect(settings.rows[0]).toEqual({ jit: 'off', app: 'crm-sync-test', path: `"${db.schema}"` });
    } finally {
      await pool.end();
    }
  });

  it('records conflict decisions for audit', async () => {
    const conflicts = new ConflictsRepository(db.pool);
    const canonicalId = randomUUID();
    await conflicts.record([
      {
        tenantId: 'acme',
        objectType: 'contact',
        canonicalId,
        field: 'phone',
        policy: 'latest',
        candidates: [
          { connectionId: 'acme-sf', value: '+1 555 0100', modifiedAt: '2026-11-20T10:00:00Z' },
          { connectionId: 'acme-hs', value: '+1 555 0199', modifiedAt: '2026-11-20T10:05:00Z' },
        ],
        winnerConnectionId: 'acme-hs',
        decidedValue: '+1 555 0199',
      },
    ]);
    const recorded = await conflicts.listForRecord('acme', canonicalId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ field: 'phone', policy: 'latest', winnerConnectionId: 'acme-hs', decidedValue: '+1 555 0199' });
    expect(recorded[0]?.candidates).toHaveLength(2);
  });

  it('reads back every text sent inline (sqlLiteral), whatever tags or quotes it holds', async () => {
    const texts = ['plain', '', "it's", 'a $q$ tag', 'ends with $q', 'ends with $q$', '$q0$ and $q$ and $q1$', 'back\\slash \\n "quoted"', 'line\nbreak ünï 😀', '$$ dollars $'];
    const results = await queryTogether(
      db.pool,
      texts.map((text) => `SELECT ${sqlLiteral(text)} AS v`),
    );
    expect(results.map((result) => (result.rows as { v: string }[])[0]?.v)).toEqual(texts);
    expect(() => sqlLiteral('nul\u0000')).toThrow(/NUL/);
  });

  it('sends statements with the BEGIN and the COMMIT; a failing one stops the rest and rolls back the whole', async () => {
    await db.pool.query('CREATE TABLE IF NOT EXISTS together_probe (n int PRIMARY KEY)');
    const seen = await inTransaction(db.pool, ['INSERT INTO together_probe VALUES (1)', 'SELECT count(*)::int AS n FROM together_probe'], async (_tx, [, counted]) => ({
      result: (counted?.rows as { n: number }[] | undefined)?.[0]?.n,
      last: ['INSERT INTO together_probe VALUES (2)'],
    }));
    expect(seen).toBe(1);
    await expect(
      inTransaction(db.pool, ['INSERT INTO together_probe VALUES (3)'], async () => ({ result: null, last: ['INSERT INTO together_probe VALUES (1)', 'INSERT INTO together_probe VALUES (4)'] })),
    ).rejects.toThrow(/together_probe_pkey/);
    expect((await db.pool.query<{ n: number }>('SELECT n FROM together_probe ORDER BY n')).rows.map((row) => row.n)).toEqual([1, 2]);
  });
});
