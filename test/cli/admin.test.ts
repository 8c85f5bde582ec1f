import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { syncStatusQuery } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { cliEnvironment, oneLine, runCli, spawnCli } from './support';

/**
 * `crm-sync` tenant, connection, mapping, keys, sandbox and dev commands, each through the real
 * spawned binary against this file's PostgreSQL schema, the shared Temporal dev server and a
 * HubSpot sandbox over HTTP.
 */
// Each spawn of the CLI costs seconds on a loaded 2-core machine: generous per-test budgets.
describe('crm-sync operator CLI: tenants, connections, mappings, keys', { timeout: 240_000 }, () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-cli-files-'));
  const file = (name: string, content: unknown): string => {
    const at = path.join(dir, name);
    writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content));
    return at;
  };
  let h: SyncHarness;
  let env: NodeJS.ProcessEnv;
  let tenant: string;
  let connection: string;
  let token: string;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['hubspot'], encryptionKey: { id: 'a', key: keyA }, sync: { objects: ['contact'], pollIntervalMs: 3_600_000 } });
    env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `a:${keyA.toString('base64')}` });
    tenant = `cli-${randomBytes(3).toString('hex')}`;
    connection = `${tenant}-hs`;
    token = h.hubspot!.sandbox.credentials.accessToken;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers usage, lookup, configuration and availability mistakes with one line and the documented exit code', async () => {
    const secretish = file('broken-credentials.json', '{"accessToken": "pat-na1-very-secret-value",');
    const [help, typo, badObject, badProvider, badJson, unknownConnection, badKeys, noTemporal, noDatabase] = await Promise.all([
      runCli(['--help'], env),
      runCli(['tenant', 'lst'], env),
      runCli(['backfill', 'start', 'whatever', 'lead'], env),
      runCli(['connection', 'add', 'acme', 'acme-x', '--provider', 'sugarcrm', '--settings-file', secretish, '--credentials-file', '-'], env),
      runCli(['connection', 'reauthorise', h.hubspot!.id, '--credentials-file', secretish], env),
      runCli(['sync', 'status', 'no-such-connection'], env),
      runCli(['tenant', 'list'], { ...env, CRM_SYNC_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }),
      runCli(['sync', 'status', h.hubspot!.id], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      runCli(['tenant', 'list'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/crm_sync' }),
    ]);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toMatch(/69\s+service unavailable/);

    expect([typo.code, oneLine(typo)]).toEqual([2, "crm-sync: unknown command 'lst' (Did you mean list?)"]);
    expect([badObject.code, oneLine(badObject)]).toEqual([2, 'crm-sync: object must be one of contact, company, deal, activity, got "lead"']);
    expect([badProvider.code, oneLine(badProvider)]).toEqual([2, 'crm-sync: --provider must be one of salesforce, hubspot, dynamics, pipedrive, zoho, got "sugarcrm"']);
    // The JSON problem is named, the (secret) content is not quoted.
    expect([badJson.code, oneLine(badJson)]).toEqual([2, `crm-sync: credentials from "${secretish}" is not valid JSON (syntax error at character 45)`]);
    expect(badJson.stderr + badJson.stdout).not.toContain('very-secret');
    expect([unknownConnection.code, oneLine(unknownConnection)]).toEqual([3, 'crm-sync: unknown connection "no-such-connection" (see: crm-sync connection list)']);
    expect(badKeys.code).toBe(78);
    expect(oneLine(badKeys)).toMatch(/^crm-sync: invalid configuration: CRM_SYNC_ENCRYPTION_KEYS key "k1" decodes to 5 bytes/);
    expect(noTemporal.code).toBe(69);
    expect(oneLine(noTemporal)).toMatch(/^crm-sync: Temporal is unreachable at 127\.0\.0\.1:1: /);
    expect([noDatabase.code, oneLine(noDatabase)]).toEqual([69, 'crm-sync: PostgreSQL is unreachable (ECONNREFUSED): check DATABASE_URL and that the server runs']);
  });

  it('adds a tenant and a connection (credentials from stdin, sealed), lists them, and starts the connection workflow', async () => {
    const settings = file('settings.json', { basePath: h.hubspot!.sandbox.url, sync: { objects: ['contact'], pollIntervalMs: 3_600_000 } });
    expect(await runCli(['tenant', 'add', tenant, '--name', 'CLI Test Co'], env)).toMatchObject({ code: 0, stdout: `tenant ${tenant} added\n` });
    const again = await runCli(['tenant', 'add', tenant], env);
    expect([again.code, oneLine(again)]).toEqual([1, `crm-sync: tenant "${tenant}" already exists`]);

    const credentials = JSON.stringify({ kind: 'private-app', accessToken: token });
    const added = await runCli(['connection', 'add', tenant, connection, '--provider', 'hubspot', '--settings-file', settings, '--credentials-file', '-'], env, { input: credentials });
    expect(added).toMatchObject({ code: 0, stdout: `connection ${connection} (hubspot) added to tenant ${tenant}; workflow sync:${tenant}:${connection} running\n` });
    const orphan = await runCli(['connection', 'add', 'no-such-tenant', 'x-hs', '--provider', 'hubspot', '--settings-file', settings, '--credentials-file', '-'], env, { input: credentials });
    expect([orphan.code, oneLine(orphan)]).toEqual([3, 'crm-sync: unknown tenant "no-such-tenant" (add it first: crm-sync tenant add no-such-tenant)']);

    // Sealed at rest under the active key; the workflow runs (started as the webhook shim would).
    const row = await h.db.pool.query<{ credentials: Buffer; credentials_key_id: string }>('SELECT credentials, credentials_key_id FROM connections WHERE id = $1', [connection]);
    expect(row.rows[0]?.credentials_key_id).toBe('a');
    expect(row.rows[0]?.credentials.includes(Buffer.from(token))).toBe(false);
    expect((await h.client.workflow.getHandle(`sync:${tenant}:${connection}`).describe()).status.name).toBe('RUNNING');

    const [tenants, connections, table] = await Promise.all([
      runCli(['tenant', 'list', '--json'], env),
      runCli(['connection', 'list', '--tenant', tenant, '--json'], env),
      runCli(['connection', 'list'], env),
    ]);
    expect((JSON.parse(tenants.stdout) as { id: string; name: string }[]).map(({ id, name }) => ({ id, name }))).toEqual(
      expect.arrayContaining([{ id: tenant, name: 'CLI Test Co' }, { id: h.tenantId, name: 'E2E tenant' }]),
    );
    expect(JSON.parse(connections.stdout)).toEqual([expect.objectContaining({ id: connection, tenantId: tenant, provider: 'hubspot', status: 'active' })]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TENANT\s+PROVIDER\s+STATUS\s+UPDATED$/);
    expect(table.stdout).toMatch(new RegExp(`^${connection}\\s+${tenant}\\s+hubspot\\s+active\\s`, 'm'));
    expect(table.stdout).not.toContain(token);
  });

  it('tests the stored credentials against the CRM: ok, the auth class and vendor message when they are wrong, ok after reauthorise', async () => {
    const ok = await runCli(['connection', 'test', connection], env);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(new RegExp(`^ok: hubspot accepted the credentials of ${connection} \\(read contact changes\\)\\n$`));

    const wrong = file('wrong-credentials.json', { kind: 'private-app', accessToken: 'pat-na1-00000000-0000-0000-0000-000000000000' });
    expect(await runCli(['connection', 'reauthorise', connection, '--credentials-file', wrong], env)).toMatchObject({ code: 0, stdout: `connection ${connection} re-authorised\n` });
    const refused = await runCli(['connection', 'test', connection], env);
    expect(refused.code).toBe(1);
    expect(oneLine(refused)).toMatch(/^crm-sync: failed: auth( \(\w+\))?: \S.+$/);
    expect(refused.stderr).not.toContain('pat-na1-00000000');

    const right = JSON.stringify({ kind: 'private-app', accessToken: token });
    expect(await runCli(['connection', 'reauthorise', connection, '--credentials-file', '-'], env, { input: right })).toMatchObject({ code: 0 });
    const json = await runCli(['connection', 'test', connection, '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ connectionId: connection, provider: 'hubspot', ok: true });
  });

  it('pauses and resumes a connection: stored status and the running workflow', async () => {
    const handle = h.client.workflow.getHandle(`sync:${tenant}:${connection}`);
    const paused = await runCli(['connection', 'pause', connection, '--reason', 'vendor maintenance'], env);
    expect(paused).toMatchObject({ code: 0, stdout: `connection ${connection} paused\n` });
    expect((await h.connectionsRepository.getConnection(connection))?.status).toBe('paused');
    await expect.poll(async () => handle.query(syncStatusQuery), { timeout: 15_000 }).toMatchObject({ state: 'paused', pausedReason: 'vendor maintenance' });

    expect(await runCli(['connection', 'resume', connection], env)).toMatchObject({ code: 0, stdout: `connection ${connection} resumed\n` });
    expect((await h.connectionsRepository.getConnection(connection))?.status).toBe('active');
    await expect.poll(async () => (await handle.query(syncStatusQuery)).state, { timeout: 15_000 }).toBe('running');
  });

  it('validates a mapping override: ok, or every problem with its path and exit 1', async () => {
    const good = file('good-mapping.json', { mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.source', native: 'lead_source', type: 'picklist', values: { web: 'web' } }] } } } });
    const bad = file('bad-mapping.json', {
      objects: { contact: { fields: [{ canonical: 'custom.source', native: 'lead_source', type: 'hologram' }] }, lead: { fields: [] } },
    });
    const [valid, invalid, invalidJson] = await Promise.all([
      runCli(['mapping', 'validate', good, '--provider', 'hubspot'], env),
      runCli(['mapping', 'validate', bad, '--provider', 'hubspot'], env),
      runCli(['mapping', 'validate', bad, '--provider', 'hubspot', '--json'], env),
    ]);
    expect(valid).toMatchObject({ code: 0, stdout: `ok: ${good} is a valid hubspot mapping\n` });
    expect(invalid.code).toBe(1);
    const lines = invalid.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^override\.objects\.contact\.fields\[0\]\.type: /), expect.stringMatching(/^override\.objects(\.lead)?: /)]));
    expect(oneLine(invalid)).toBe(`crm-sync: mapping ${bad} is invalid: ${lines.length} problems`);
    expect(JSON.parse(invalidJson.stdout)).toMatchObject({ valid: false, issues: expect.arrayContaining([expect.objectContaining({ path: 'override.objects.contact.fields[0].type' })]) as unknown });
  });

  it('stores a connection owner map with mapping set, and leaves the connection unchanged when the map is invalid', async () => {
    const before = await h.connectionsRepository.getConnection(h.hubspot!.id);
    const bad = file('bad-owners.json', { owners: { '41629779': 'not-an-email' } });
    const refused = await runCli(['mapping', 'set', h.hubspot!.id, bad], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("override.owners.41629779: must be the user's email\n");
    expect(oneLine(refused)).toBe(`crm-sync: mapping ${bad} is invalid for hubspot: 1 problem; connection ${h.hubspot!.id} unchanged`);
    expect((await h.connectionsRepository.getConnection(h.hubspot!.id))?.settings).toEqual(before?.settings);

    const good = file('owners.json', { owners: { '41629779': 'Ada.Lovelace@crm-sync.example' } });
    const stored = await runCli(['mapping', 'set', h.hubspot!.id, good], env);
    expect(stored).toMatchObject({ code: 0, stdout: `connection ${h.hubspot!.id}: mapping override stored (1 owners mapped)\n` });
    expect((await h.connectionsRepository.getConnection(h.hubspot!.id))?.settings).toEqual({ ...before?.settings, mappingOverride: { owners: { '41629779': 'Ada.Lovelace@crm-sync.example' } } });
  });

  it('starts the sandboxes (as npm run sandbox) until stopped, and dev runs npm start (a bad configuration stops it with exit 78)', async () => {
    const sandbox = spawnCli(['sandbox', '--contacts', '3', '--port-base', '0'], env);
    let output = '';
    sandbox.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => sandbox.on('exit', resolve));
    await expect.poll(() => output, { timeout: 30_000, interval: 200 }).toContain('Seeded 3 contacts');
    const urls = [...output.matchAll(/^(salesforce|hubspot|dynamics)\s+(https?:\/\/\S+)$/gim)].map((match) => match[2] as string);
    expect(urls).toHaveLength(3);
    const counters = await fetch(`${urls[1]}/__sandbox/counters`);
    expect(counters.status).toBe(200);
    sandbox.kill('SIGTERM');
    expect(await exited).toBe(0);

    const dev = await runCli(['dev'], { ...env, CRM_SYNC_ENCRYPTION_KEYS: 'oops' });
    expect(dev.code).toBe(78);
    expect(dev.stderr).toContain('CRM_SYNC_ENCRYPTION_KEYS');
    expect(dev.stderr).not.toMatch(/\n\s+at /);
  });

  it('keys rotate re-encrypts every row under the active key, idempotently; the old key can then be removed', async () => {
    const both = { CRM_SYNC_ENCRYPTION_KEYS: `a:${keyA.toString('base64')},b:${keyB.toString('base64')}`, CRM_SYNC_ACTIVE_KEY_ID: 'b' };
    const first = await runCli(['keys', 'rotate'], { ...env, ...both });
    expect(first).toMatchObject({ code: 0, stdout: '2 of 2 connections re-encrypted under key "b"\n' });
    const second = await runCli(['keys', 'rotate', '--json'], { ...env, ...both });
    expect(JSON.parse(second.stdout)).toEqual({ activeKeyId: 'b', connections: 2, reencrypted: 0 });
    const keyIds = await h.db.pool.query<{ credentials_key_id: string }>('SELECT DISTINCT credentials_key_id FROM connections');
    expect(keyIds.rows).toEqual([{ credentials_key_id: 'b' }]);

    // Key A gone from the keyring: every row still opens, and the CRM still accepts them.
    const onlyB = new ConnectionsRepository(h.db.pool, new CredentialCipher(new Map([['b', keyB]]), 'b'));
    expect(await onlyB.loadCredentials(connection)).toEqual({ kind: 'private-app', accessToken: token });
    expect(await onlyB.loadCredentials(h.hubspot!.id)).toMatchObject({ kind: 'private-app', accessToken: token });
    const tested = await runCli(['connection', 'test', connection], { ...env, CRM_SYNC_ENCRYPTION_KEYS: `b:${keyB.toString('base64')}` });
    expect(tested.code).toBe(0);
    // And a keyring without B cannot open them: a configuration error, not a stack trace.
    const stale = await runCli(['connection', 'test', connection], env);
    expect([stale.code, oneLine(stale)]).toEqual([78, 'crm-sync: no encryption key "b" in CRM_SYNC_ENCRYPTION_KEYS']);
  });
});
