import { ScheduleOverlapPolicy, WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAUSED_BY_STATUS_REASON, type ReconcileResult } from '../../src/activities/supervisor-activities';
import { ensureSupervisorSchedule } from '../../src/client/supervisor-schedule';
import { syncStatusQuery } from '../../src/workflows/messages';
import { supervisor } from '../../src/workflows/supervisor';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * The supervisor on the real dev server: a tenant with two active connections (Salesforce and
 * HubSpot sandboxes), a paused one and a disabled one. Every connection but the disabled one must
 * have a running connectionSync; a terminated one comes back, run by hand or by the schedule.
 */
describe('supervisor', () => {
  let h: SyncHarness;
  let sfId: string;
  let hsId: string;
  let pausedId: string;
  let disabledId: string;
  let scheduleId: string;
  let runs = 0;

  const describeSync = (connectionId: string): Promise<WorkflowExecutionDescription> => h.client.workflow.getHandle(h.syncWorkflowId(connectionId)).describe();
  const runSupervisor = (): Promise<ReconcileResult> =>
    h.client.workflow.execute(supervisor, { taskQueue: h.taskQueue, workflowId: `supervisor-${h.tenantId}-${++runs}`, args: [{}] });
  const startedIds = (result: ReconcileResult): string[] => result.started.map((s) => s.connectionId).sort();

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sfId = h.salesforce!.id;
    hsId = h.hubspot!.id;
    scheduleId = `crm-sync-supervisor-${h.tenantId}`;
    // Two more connections to the same HubSpot sandbox: one paused, one disabled.
    const hubspot = await h.connectionsRepository.getConnection(hsId);
    const credentials = await h.connectionsRepository.loadCredentials(hsId);
    pausedId = `${h.tenantId}-hs-paused`;
    disabledId = `${h.tenantId}-hs-disabled`;
    for (const id of [pausedId, disabledId]) {
      await h.connectionsRepository.addConnection({ id, tenantId: h.tenantId, provider: 'hubspot', settings: hubspot!.settings, credentials });
    }
    await h.connectionsRepository.setStatus(pausedId, 'paused');
    await h.connectionsRepository.setStatus(disabledId, 'disabled');
  });
  afterAll(async () => {
    await h?.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await h?.stop();
  });

  it('starts a connectionSync for every active and paused connection, none for a disabled one, and nothing on a second pass', async () => {
    const first = await runSupervisor();
    expect(first.supervised).toBe(3);
    expect(first.alreadyRunning).toBe(0);
    expect(startedIds(first)).toEqual([sfId, hsId, pausedId].sort());
    const byId = new Map(first.started.map((started) => [started.connectionId, started]));
    expect(byId.get(sfId)).toMatchObject({ connectionStatus: 'active', previous: 'missing', workflowId: h.syncWorkflowId(sfId) });
    expect(byId.get(hsId)).toMatchObject({ connectionStatus: 'active', previous: 'missing' });
    expect(byId.get(pausedId)).toMatchObject({ connectionStatus: 'paused', previous: 'missing' });
    for (const started of first.started) {
      const description = await describeSync(started.connectionId);
      expect(description.status.name).toBe('RUNNING');
      expect(description.runId).toBe(started.runId);
      expect(description.type).toBe('connectionSync');
      expect(description.taskQueue).toBe(h.taskQueue);
    }
    await expect(describeSync(disabledId)).rejects.toBeInstanceOf(WorkflowNotFoundError);

    // The paused connection's workflow runs, held paused; the active ones sync.
    const status = (connectionId: string) => h.client.workflow.getHandle(h.syncWorkflowId(connectionId)).query(syncStatusQuery);
    await expect.poll(async () => (await status(pausedId)).state, { timeout: 10_000, interval: 200 }).toBe('paused');
    expect((await status(pausedId)).pausedReason).toBe(PAUSED_BY_STATUS_REASON);
    expect((await status(sfId)).state).toBe('running');

    // Idempotent: everything is running, so the second pass starts nothing and changes no run.
    const second = await runSupervisor();
    expect(second).toEqual({ supervised: 3, alreadyRunning: 3, started: [] });
    for (const started of first.started) expect((await describeSync(started.connectionId)).runId).toBe(started.runId);
  });

  it('restarts a terminated connection workflow on the next supervisor run', async () => {
    const before = await describeSync(sfId);
    await h.client.workflow.getHandle(h.syncWorkflowId(sfId)).terminate('operator mistake');
    expect((await describeSync(sfId)).status.name).toBe('TERMINATED');

    const result = await runSupervisor();
    expect(result.alreadyRunning).toBe(2);
    expect(result.started).toEqual([expect.objectContaining({ connectionId: sfId, previous: 'TERMINATED', connectionStatus: 'active' })]);
    const after = await describeSync(sfId);
    expect(after.status.name).toBe('RUNNING');
    expect(after.runId).not.toBe(before.runId);
    expect(after.runId).toBe(result.started[0]!.runId);
  });

  it('the schedule is created once, updated only when its options change, and its runs restart terminated workflows', async () => {
    expect(await ensureSupervisorSchedule(h.client, { taskQueue: h.taskQueue, scheduleId, interval: '1 hour' })).toBe('created');
    expect(await ensureSupervisorSchedule(h.client, { taskQueue: h.taskQueue, scheduleId, interval: '1 hour' })).toBe('unchanged');
    const schedule = h.client.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'supervisor', taskQueue: h.taskQueue });
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);

    // A triggered schedule run restarts a terminated HubSpot workflow.
    const hubspotBefore = await describeSync(hsId);
    await h.client.workflow.getHandle(h.syncWorkflowId(hsId)).terminate('lost');
    await schedule.trigger();
    await expect.poll(async () => (await schedule.describe()).info.recentActions.length, { timeout: 10_000, interval: 200 }).toBe(1);
    const [triggered] = (await schedule.describe()).info.recentActions;
    const triggeredResult = await h.client.workflow.getHandle<typeof supervisor>(triggered!.action.workflow.workflowId).result();
    expect(triggeredResult.started).toEqual([expect.objectContaining({ connectionId: hsId, previous: 'TERMINATED' })]);
    const hubspotAfter = await describeSync(hsId);
    expect(hubspotAfter.status.name).toBe('RUNNING');
    expect(hubspotAfter.runId).not.toBe(hubspotBefore.runId);

    // A shorter interval updates the schedule in place; its own ticks then restart the paused
    // connection's terminated workflow, which comes back paused.
    expect(await ensureSupervisorSchedule(h.client, { taskQueue: h.taskQueue, scheduleId, interval: '2 seconds' })).toBe('updated');
    expect((await schedule.describe()).spec.intervals).toEqual([expect.objectContaining({ every: 2_000 })]);
    const pausedBefore = await describeSync(pausedId);
    await h.client.workflow.getHandle(h.syncWorkflowId(pausedId)).terminate('lost');
    await expect.poll(async () => {
      const current = await describeSync(pausedId);
      return current.status.name === 'RUNNING' && current.runId !== pausedBefore.runId;
    }, { timeout: 10_000, interval: 250 }).toBe(true);
    const status = await h.client.workflow.getHandle(h.syncWorkflowId(pausedId)).query(syncStatusQuery);
    expect(status.state).toBe('paused');
    expect((await schedule.describe()).info.recentActions.length).toBeGreaterThan(1);
  });
});
