import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildShimApp } from '../../src/webhooks/app';
import { createPool } from '../../src/store/database';

describe('shim readiness', () => {
  const pool = createPool(inject('testDatabaseUrl'), { max: 1 });
  const unreachablePool = createPool('postgres://postgres:hunter2@127.0.0.1:1/none', { max: 1 });
  afterAll(async () => {
    await pool.end();
    await unreachablePool.end();
  });

  const temporalCheck = async (): Promise<void> => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      await connection.healthService.check({});
    } finally {
      await connection.close();
    }
  };

  it('is ready when Temporal and PostgreSQL answer', async () => {
    const app = buildShimApp({ readiness: { temporal: temporalCheck, postgres: async () => void (await pool.query('SELECT 1')) } });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { temporal: { ok: true }, postgres: { ok: true } } });
    await app.close();
  });

  it('answers 503 naming the failing dependency, without leaking its credentials', async () => {
    const app = buildShimApp({
      readiness: {
        temporal: temporalCheck,
        postgres: async () => {
          try {
            await unreachablePool.query('SELECT 1');
          } catch (error) {
            throw new Error(`postgres://postgres:hunter2@127.0.0.1:1/none: ${(error as Error).message}`, { cause: error });
          }
        },
      },
    });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    const body = response.json<{ status: string; checks: Record<string, { ok: boolean; error?: string }> }>();
    expect(body.status).toBe('not-ready');
    expect(body.checks.temporal).toEqual({ ok: true });
    expect(body.checks.postgres?.ok).toBe(false);
    expect(body.checks.postgres?.error).toMatch(/ECONNREFUSED/);
    expect(response.body).not.toContain('hunter2');
    await app.close();
  });
});
