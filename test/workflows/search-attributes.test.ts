import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registerSearchAttributes } from '../../src/devserver/ensure-temporal';

const expected = {
  TenantId: 'INDEXED_VALUE_TYPE_KEYWORD',
  CrmProvider: 'INDEXED_VALUE_TYPE_KEYWORD',
  ConnectionId: 'INDEXED_VALUE_TYPE_KEYWORD',
  SyncState: 'INDEXED_VALUE_TYPE_KEYWORD',
  ParkedCount: 'INDEXED_VALUE_TYPE_INT',
  LastSyncedAt: 'INDEXED_VALUE_TYPE_DATETIME',
  LastPolledAt: 'INDEXED_VALUE_TYPE_DATETIME',
  ChangeLogFallbackAt: 'INDEXED_VALUE_TYPE_DATETIME',
};

describe('search attributes', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
  });

  async function listCustom(namespace: string): Promise<Record<string, string>> {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const { IndexedValueType } = (await import('@temporalio/proto')).default.temporal.api.enums.v1;
    return Object.fromEntries(Object.entries(customAttributes ?? {}).map(([name, type]) => [name, IndexedValueType[type]]));
  }

  it('are registered with their types on the started dev server', async () => {
    expect(await listCustom(inject('temporalNamespace'))).toMatchObject(expected);
  });

  it('are added to a reused server that lacks them, once', async () => {
    const namespace = `reused-${randomBytes(4).toString('hex')}`;
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    await expect.poll(async () => (await connection.workflowService.describeNamespace({ namespace }).catch(() => undefined)) !== undefined).toBe(true);
    expect(Object.keys(await listCustom(namespace))).not.toContain('TenantId');

    expect((await registerSearchAttributes(inject('temporalAddress'), namespace)).sort()).toEqual(Object.keys(expected).sort());
    expect(await listCustom(namespace)).toMatchObject(expected);
    await expect(registerSearchAttributes(inject('temporalAddress'), namespace)).resolves.toEqual([]);
  });
});
