import { spawn } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildCodecApp } from '../../src/codec/endpoint';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

const CONTACTS = 30;
const OPERATOR_TOKEN = 'operator-token-for-the-cli';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real `temporal` binary (the one global setup resolved), against the shared dev server. */
function temporalCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(inject('temporalCliPath'), [...args, '--address', inject('temporalAddress'), '--namespace', inject('temporalNamespace')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** The history events `temporal workflow show -o json` prints, as far as this test reads them. */
interface ShownHistory {
  events: {
    eventType: string;
    workflowExecutionFailedEventAttributes?: { failure?: { message?: string; applicationFailureInfo?: { type?: string; nonRetryable?: boolean } } };
  }[];
}

interface DescribedWorkflow {
  workflowExecutionInfo: { status: string; type: { name: string }; taskQueue: string };
}

/**
 * Backfills started the way an operator without crm-sync's CLI would: `temporal workflow start
 * --type backfill` with the JSON documented in the README, read back with `temporal workflow
 * result/describe/show`. Salesforce and HubSpot sandboxes, a real worker, the shared dev server.
 */
describe('backfill from the temporal CLI', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;

  let codec: FastifyInstance;
  let codecUrl: string;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
    codec = buildCodecApp({ codec: h.payloadCodec, operatorToken: OPERATOR_TOKEN, corsOrigins: [] });
    codecUrl = await codec.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await codec?.close();
    await h?.stop();
  });

  const start = (workflowId: string, input: unknown): Promise<CliRun> =>
    temporalCli(['workflow', 'start', '--type', 'backfill', '--task-queue', h.taskQueue, '--workflow-id', workflowId, '--input', JSON.stringify(input)]);
  const describeJson = async (workflowId: string): Promise<DescribedWorkflow> => {
    const run = await temporalCli(['workflow', 'describe', '--workflow-id', workflowId, '--output', 'json']);
    expect(run).toMatchObject({ code: 0 });
    return JSON.parse(run.stdout) as DescribedWorkflow;
  };
  const showJson = async (workflowId: string): Promise<ShownHistory> => {
    const run = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json']);
    expect(run).toMatchObject({ code: 0 });
    return JSON.parse(run.stdout) as ShownHistory;
  };

  it(`backfills ${CONTACTS} Salesforce contacts into HubSpot from the documented JSON`, async () => {
    sf.sandbox.admin.seed({ contacts: CONTACTS });
    const sourceEmails = sf.sandbox.admin.listRecords('Contact').map((record) => String(record.Email).toLowerCase());
    expect(sourceEmails).toHaveLength(CONTACTS);
    const workflowId = `backfill:${h.tenantId}:${sf.id}:contact`;

    const started = await start(workflowId, { tenantId: h.tenantId, connectionId: sf.id, objectType: 'contact' });
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(workflowId);

    // `workflow result` waits for the end. The returned progress is encrypted in history (payload
    // codec); the operator reads it through the codec endpoint with the operator token.
    const result = await temporalCli(['workflow', 'result', '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', `${codecUrl}/codec`, '--codec-auth', `Bearer ${OPERATOR_TOKEN}`]);
    expect(result.code).toBe(0);
    const outcome = JSON.parse(result.stdout) as { status: string; result: unknown };
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.result).toMatchObject({ tenantId: h.tenantId, connectionId: sf.id, objectType: 'contact', state: 'completed', targets: [hs.id], recordsRead: CONTACTS, written: { [hs.id]: CONTACTS }, failed: { [hs.id]: 0 } });

    const described = await describeJson(workflowId);
    expect(described.workflowExecutionInfo).toMatchObject({ status: 'WORKFLOW_EXECUTION_STATUS_COMPLETED', type: { name: 'backfill' } });
    const hubspotEmails = hs.sandbox.admin.listRecords('contacts').map((record) => String(record.properties.email).toLowerCase());
    expect(hubspotEmails.sort()).toEqual(sourceEmails.sort());
  });

  const badInputs = [
    { name: 'an unknown objectType', input: (): unknown => ({ tenantId: h.tenantId, connectionId: sf.id, objectType: 'lead' }), message: /^invalid backfill input: objectType: Invalid option: expected one of "contact"\|"company"\|"deal"\|"activity"$/ },
    { name: 'a missing connectionId', input: (): unknown => ({ tenantId: h.tenantId, objectType: 'contact' }), message: /^invalid backfill input: connectionId: Invalid input: expected string, received undefined$/ },
    { name: 'an extra key', input: (): unknown => ({ tenantId: h.tenantId, connectionId: sf.id, objectType: 'contact', pagesPerrun: 5 }), message: /^invalid backfill input: input: Unrecognized key: "pagesPerrun"$/ },
  ];

  for (const bad of badInputs) {
    it(`fails ${bad.name} at once, non-retryably, with the validation message in describe and show`, async () => {
      const workflowId = `backfill-bad-${bad.name.replaceAll(' ', '-')}-${h.tenantId}`;
      const writesBefore = hs.sandbox.counters.snapshot().recordWrites.contacts ?? 0;
      // The start itself succeeds: the server does not know the input's shape, the workflow does.
      const started = await start(workflowId, bad.input());
      expect(started.code).toBe(0);

      const result = await temporalCli(['workflow', 'result', '--workflow-id', workflowId]);
      expect(result.code).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toContain('invalid backfill input');

      expect((await describeJson(workflowId)).workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_FAILED');
      const describedText = await temporalCli(['workflow', 'describe', '--workflow-id', workflowId]);
      expect(describedText.stdout).toMatch(/FAILED/);
      expect(describedText.stdout).toContain('invalid backfill input');

      const history = await showJson(workflowId);
      const failed = history.events.find((event) => event.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
      expect(failed?.message).toMatch(bad.message);
      expect(failed?.applicationFailureInfo).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
      // At once: the first workflow task failed it; no activity was scheduled, no retry happened.
      const types = history.events.map((event) => event.eventType);
      expect(types.filter((type) => type === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED')).toHaveLength(1);
      expect(types.some((type) => type === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toBe(false);
      expect(types.at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
      const shownText = await temporalCli(['workflow', 'show', '--workflow-id', workflowId]);
      expect(shownText.stdout).toContain('invalid backfill input');
      expect(hs.sandbox.counters.snapshot().recordWrites.contacts ?? 0).toBe(writesBefore);
    });
  }
});
