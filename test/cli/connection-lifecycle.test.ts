import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { cliEnvironment, oneLine, runCli } from './support';

const SYNC = { objects: ['contact' as const], pollIntervalMs: 3_600_000, debounceMs: 100 };

/**
 * The connection lifecycle through the spawned `crm-sync` (issue #15): webhooks registered at the
 * CRM (the Pipedrive sandbox's own `GET /v1/webhooks` is the judge), settings replaced and
 * validated, disable removing every subscription and stopping the workflow while keeping links,
 * delete removing credentials, `--purge` the links and snapshots; each refusing without `--yes`
 * what would lose data, with one line and an exit code.
 */
describe('crm-sync connection subscribe | settings | disable | delete', { timeout: 300_000 }, () => {
  const key = randomBytes(32);
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-lifecycle-'));
  const file = (name: string, content: unknown): string => {
    const at = path.join(dir, name);
    writeFileSync(at, JSON.stringify(content));
    return at;
  };
  let h: SyncHarness;
  let env: NodeJS.ProcessEnv;
  let pd: string;
  let hs: string;

  /** The sandbox's list endpoint, as Pipedrive answers it to the company's API token. */
  const pipedriveWebhooks = async (): Promise<{ id: number; subscription_url: string; event_object: string }[]> => {
    const sandbox = h.pipedrive!.sandbox;
    const response = await fetch(`${sandbox.url}/v1/webhooks`, { headers: { 'x-api-token': sandbox.credentials.apiToken } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: { id: number; subscription_url: string; event_object: string }[] }).data;
  };
  const links = async (connectionId: string): Promise<number> =>
    Number((await h.db.pool.query<{ count: string }>('SELECT count(*) AS count FROM record_links WHERE connection_id = $1', [connectionId])).rows[0]?.count);
  const workflowStatus = async (connectionId: string): Promise<string> => (await h.client.workflow.getHandle(h.syncWorkflowId(connectionId)).describe()).status.name;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['pipedrive', 'hubspot'], shim: true, encryptionKey: { id: 'k1', key }, sync: SYNC });
    pd = h.pipedrive!.id;
    hs = h.hubspot!.id;
    env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` }, { SHIM_PUBLIC_URL: h.shimUrl });
  }, 180_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('subscribe registers one webhook per synced object at Pipedrive, idempotently; a change then reaches HubSpot through it; sync status shows it', async () => {
    const callbackUrl = `${h.shimUrl}/webhooks/pipedrive/${pd}`;
    const first = await runCli(['connection', 'subscribe', pd], env);
    expect([first.code, first.stdout]).toEqual([0, `connection ${pd}: Webhooks registered: 1 subscription(s) delivering to ${callbackUrl}.\n`]);
    const again = await runCli(['connection', 'subscribe', pd], env);
    expect(again.code, again.stderr).toBe(0);
    expect((await pipedriveWebhooks()).filter((hook) => hook.subscription_url === callbackUrl).map((hook) => hook.event_object)).toEqual(['person']);

    await h.notify(pd);
    await h.notify(hs);
    for (const id of [pd, hs]) await expect.poll(async () => (await h.syncStatus(id)).watermarks.contact !== undefined, { timeout: 90_000, interval: 250 }).toBe(true);
    const polledAt = (await h.syncStatus(pd)).lastPolledAt;
    h.pipedrive!.sandbox.admin.createAsUser('persons', { name: 'Katherine Johnson', emails: [{ value: 'katherine@lifecycle.example', primary: true }] });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').map((contact) => String(contact.properties.email)), { timeout: 60_000, interval: 250 }).toContain('katherine@lifecycle.example');
    // Heard through the webhook: the hourly poll did not run again.
    expect((await h.syncStatus(pd)).lastPolledAt).toBe(polledAt);
    expect(await links(pd)).toBeGreaterThan(0);

    const status = await runCli(['sync', 'status', pd], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`webhooks\\s+registered: 1 subscription\\(s\\) \\(pipedrive-webhook\\) to ${callbackUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    expect(status.stdout).toMatch(/token expires\s+no shared token yet/);
    // No secret in what an operator sees.
    const { webhook } = (await h.connectionsRepository.loadCredentials(pd)) as { webhook: { password: string } };
    expect(status.stdout + status.stderr).not.toContain(webhook.password);
  });

  it('settings: invalid settings are refused (exit 2) and nothing is stored; re-pointing the account needs --yes; valid settings are stored and the workflow told', async () => {
    const before = (await h.connectionsRepository.getConnection(pd))!.settings;
    const invalid = await runCli(['connection', 'settings', pd, '--settings-file', file('bad.json', { apiDomain: 'not a url', sync: { pollIntervalMs: 5 } })], env);
    expect(invalid.code).toBe(2);
    expect(oneLine(invalid)).toBe('crm-sync: invalid settings for pipedrive: apiDomain: Invalid URL; sync.pollIntervalMs: Too small: expected number to be >=1000');
    const moved = await runCli(['connection', 'settings', pd, '--settings-file', file('moved.json', { apiDomain: 'https://other-company.pipedrive.com', sync: SYNC })], env);
    expect(moved.code).toBe(1);
    expect(oneLine(moved)).toMatch(/^crm-sync: refusing: the settings change apiDomain, which names the CRM account itself; .*--yes/);
    expect((await h.connectionsRepository.getConnection(pd))!.settings).toEqual(before);

    const next = { ...before, sync: { ...SYNC, debounceMs: 250 } };
    const applied = await runCli(['connection', 'settings', pd, '--settings-file', file('next.json', next)], env);
    expect([applied.code, applied.stdout]).toEqual([0, `connection ${pd} settings replaced; its workflow reloads them now\n`]);
    expect((await h.connectionsRepository.getConnection(pd))!.settings).toEqual(next);
  });

  it('disable refuses while the workflow holds work (exit 1, nothing changed); with --yes it removes every webhook at Pipedrive, stops the workflow and keeps links and credentials', async () => {
    const linked = await links(pd);
    // A paused workflow keeps the notices it hears: disabling would drop them.
    expect((await runCli(['connection', 'pause', pd], env)).code).toBe(0);
    await h.notify(pd, { events: [{ objectType: 'contact', externalId: '999999', eventId: 'held-while-paused' }] });
    await expect.poll(async () => (await h.syncStatus(pd)).pending, { timeout: 60_000, interval: 250 }).toBe(1);
    const refused = await runCli(['connection', 'disable', pd], env);
    expect([refused.code, oneLine(refused)]).toEqual([1, `crm-sync: refusing: disabling connection ${pd} stops its workflow, which still holds 1 pending change(s); retry or skip them first, or run with --yes to drop them`]);
    expect((await h.connectionsRepository.getConnection(pd))!.status).toBe('paused');
    expect(await workflowStatus(pd)).toBe('RUNNING');
    expect((await pipedriveWebhooks()).filter((hook) => hook.subscription_url.includes(pd))).toHaveLength(1);

    const disabled = await runCli(['connection', 'disable', pd, '--yes'], env);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toMatch(new RegExp(`^connection ${pd} disabled: 1 webhook subscription\\(s\\) removed, workflow stopped; links, snapshots and credentials kept`));
    // The sandbox's own list: nothing of this connection's left behind.
    expect((await pipedriveWebhooks()).filter((hook) => hook.subscription_url.includes(pd))).toEqual([]);
    expect(await workflowStatus(pd)).toBe('TERMINATED');
    expect((await h.connectionsRepository.getConnection(pd))!.status).toBe('disabled');
    expect(await links(pd)).toBe(linked);
    expect(await h.connectionsRepository.loadCredentials(pd)).toMatchObject({ kind: 'api-token' });
    const twice = await runCli(['connection', 'disable', pd], env);
    expect([twice.code, twice.stdout]).toEqual([0, `connection ${pd} is already disabled\n`]);
  });

  it('delete refuses without --yes and changes nothing; with --yes it removes the credentials and keeps links; --purge --yes removes links and snapshots too', async () => {
    const linked = await links(pd);
    const refused = await runCli(['connection', 'delete', pd], env);
    expect([refused.code, oneLine(refused)]).toEqual([1, `crm-sync: refusing: deleting connection ${pd} removes its credentials (re-connecting needs a new consent); run with --yes to confirm`]);
    expect(await h.connectionsRepository.loadCredentials(pd)).toMatchObject({ kind: 'api-token' });

    const deleted = await runCli(['connection', 'delete', pd, '--yes'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe(`connection ${pd} deleted: 0 webhook subscription(s) removed, workflow was not running, credentials removed; ${linked} record link(s) and their snapshots kept (crm-sync connection delete ${pd} --purge --yes removes them)\n`);
    expect((await h.connectionsRepository.getConnection(pd))!.status).toBe('deleted');
    expect(await h.connectionsRepository.loadCredentials(pd)).toEqual({});
    expect(await links(pd)).toBe(linked);
    const subscribe = await runCli(['connection', 'subscribe', pd], env);
    expect([subscribe.code, oneLine(subscribe)]).toEqual([1, `crm-sync: cannot subscribe connection ${pd}: it was deleted (its credentials are gone)`]);

    const purgeRefused = await runCli(['connection', 'delete', pd, '--purge'], env);
    expect([purgeRefused.code, oneLine(purgeRefused)]).toEqual([1, `crm-sync: refusing: deleting connection ${pd} removes its credentials, ${linked} record link(s) and their snapshots; run with --yes to confirm`]);
    expect(await links(pd)).toBe(linked);
    const purged = await runCli(['connection', 'delete', pd, '--purge', '--yes'], env);
    expect([purged.code, purged.stdout]).toEqual([0, `connection ${pd} purged: 0 webhook subscription(s) removed, workflow was not running, credentials, ${linked} record link(s) and their snapshots deleted\n`]);
    expect(await h.connectionsRepository.getConnection(pd)).toBeUndefined();
    expect(await links(pd)).toBe(0);
    const gone = await runCli(['connection', 'delete', pd, '--yes'], env);
    expect([gone.code, oneLine(gone)]).toEqual([3, `crm-sync: unknown connection "${pd}" (see: crm-sync connection list)`]);
  });
});
