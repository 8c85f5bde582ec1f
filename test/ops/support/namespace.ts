import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { registerSearchAttributes } from '../../../src/devserver/ensure-temporal';

/**
 * A namespace of its own on the shared dev server, with crm-sync's search attributes: a worker
 * started as in production ensures the `crm-sync-supervisor` schedule, which must not repoint the
 * one other test files may use in the default namespace.
 */
export async function createTestNamespace(address: string): Promise<string> {
  const namespace = `ops-${randomBytes(4).toString('hex')}`;
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  } finally {
    await connection.close();
  }
  // A new namespace reaches the frontend's cache shortly after registration: retry until it does.
  for (let attempt = 0; ; attempt += 1) {
    try {
      await registerSearchAttributes(address, namespace);
      return namespace;
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
