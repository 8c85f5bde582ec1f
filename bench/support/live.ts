import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import { findFreePort } from '../../src/devserver/dev-server';
import { changeNoticesSignal, syncStatusQuery } from '../../src/workflows/messages';
import { PROJECT_ROOT, type Stack } from './stack';

export interface ShimProcess {
  url: string;
  process: ChildProcess;
  webhookUrl(provider: string, connectionId: string): string;
  stop(): Promise<void>;
}

/**
 * The webhook shim as its own process (`npm run shim`, src/webhooks/server.ts) pointed at the
 * stack's PostgreSQL schema and Temporal task queue. Request logging at `warn` (the default
 * `info` writes a line per delivery). Resolves once GET /readyz answers 200.
 */
export async function startShimProcess(stack: Stack): Promise<ShimProcess> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/webhooks/server.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...stack.productEnv, SHIM_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the shim exited with code ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then((answer) => answer.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error('the shim was not ready within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    url,
    process: child,
    webhookUrl: (provider, connectionId) => `${url}/webhooks/${provider}/${connectionId}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(forced);
    },
  };
}

/** Starts the connection's sync workflow (as the shim would) and waits until its first poll is done. */
export async function startSyncAndWaitForFirstPoll(stack: Stack, connectionId: string, timeoutMs = 120_000): Promise<void> {
  const workflowId = `sync:${stack.tenantId}:${connectionId}`;
  await stack.client.workflow.signalWithStart('connectionSync', {
    workflowId,
    taskQueue: stack.taskQueue,
    args: [{ tenantId: stack.tenantId, connectionId }],
    signal: changeNoticesSignal,
    signalArgs: [{ events: [] }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await stack.client.workflow.getHandle(workflowId).query(syncStatusQuery).catch(() => undefined);
    if (status?.lastPolledAt) return;
    if (Date.now() > deadline) throw new Error(`${workflowId} did not finish its first poll within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
