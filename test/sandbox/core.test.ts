import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SandboxCounters } from '../../src/sandbox/core/counters';
import { FaultInjector } from '../../src/sandbox/core/faults';
import { ModstampClock } from '../../src/sandbox/core/modstamp-clock';
import { RateWindow } from '../../src/sandbox/core/rate-window';
import { WebhookDispatcher } from '../../src/sandbox/core/webhook-dispatcher';
import { startDynamicsSandbox } from '../../src/sandbox/dynamics';
import { startHubSpotSandbox } from '../../src/sandbox/hubspot';
import { startPipedriveSandbox } from '../../src/sandbox/pipedrive';
import { startSalesforceSandbox } from '../../src/sandbox/salesforce';
import { startZohoSandbox } from '../../src/sandbox/zoho';

describe('RateWindow', () => {
  it('refuses past the limit within a rolling window and says when a slot frees up', () => {
    let now = 0;
    const window = new RateWindow({ limit: 3, windowMs: 10_000, now: () => now });
    expect([window.take(), window.take()].map((state) => state.remaining)).toEqual([2, 1]);
    now = 4_000;
    expect(window.take()).toMatchObject({ allowed: true, remaining: 0, used: 3 });
    expect(window.take()).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 6_000 });
    now = 10_000; // the two stamps from t=0 roll out; the one from t=4000 stays
    expect(window.take(2)).toMatchObject({ allowed: true, remaining: 0, used: 3 });
    expect(window.take()).toMatchObject({ allowed: false, retryAfterMs: 4_000 });
  });

  it('can be pre-spent, as a nearly exhausted daily quota', () => {
    const window = new RateWindow({ limit: 100, windowMs: 86_400_000 });
    window.consume(99);
    expect(window.take()).toMatchObject({ allowed: true, remaining: 0 });
    expect(window.take().allowed).toBe(false);
  });
});

describe('FaultInjector', () => {
  it('injects faults at the configured rates, reproducibly from the seed', () => {
    const decide = (): string[] => {
      const faults = new FaultInjector({ serverErrorRate: 0.1, rateLimitRate: 0.05, timeoutRate: 0.01, seed: 7 });
      return Array.from({ length: 20_000 }, () => faults.decide().kind);
    };
    const kinds = decide();
    const share = (kind: string): number => kinds.filter((k) => k === kind).length / kinds.length;
    expect(share('server-error')).toBeCloseTo(0.1, 1);
    expect(share('rate-limit')).toBeCloseTo(0.05, 1);
    expect(share('timeout')).toBeGreaterThan(0.005);
    expect(share('timeout')).toBeLessThan(0.015);
    expect(decide()).toEqual(kinds);
  });

  it('injects nothing by default', () => {
    const faults = new FaultInjector();
    expect(new Set(Array.from({ length: 1000 }, () => faults.decide().kind))).toEqual(new Set(['none']));
  });

  it('covers every request by default, only the token endpoint with tokenEndpointOnly', () => {
    const faults = new FaultInjector({ rateLimitRate: 1 });
    expect([faults.covers(false), faults.covers(true)]).toEqual([true, true]);
    faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    expect([faults.covers(false), faults.covers(true)]).toEqual([false, true]);
  });

  it('fails the nth call of one route only, as many times as asked', () => {
    const faults = new FaultInjector({ rateLimitRate: 1, route: 'POST /crm/v3/objects/:type/batch/update', after: 1, times: 2 });
    expect([faults.covers(false, 'POST /crm/v3/objects/:type/batch/update'), faults.covers(false, 'POST /crm/v3/objects/:type/batch/read')]).toEqual([true, false]);
    expect(Array.from({ length: 5 }, () => faults.decide().kind)).toEqual(['none', 'rate-limit', 'rate-limit', 'none', 'none']);
    faults.configure({ rateLimitRate: 1, times: 1 });
    expect(Array.from({ length: 3 }, () => faults.decide().kind)).toEqual(['rate-limit', 'none', 'none']);
  });
});

describe('ModstampClock', () => {
  it('advances on every call even within one millisecond', () => {
    const clock = new ModstampClock(() => 1_000);
    expect([clock.next(), clock.next(), clock.next()].map((date) => date.getTime())).toEqual([1_000, 1_001, 1_002]);
  });
});

describe('WebhookDispatcher', () => {
  it('retries non-2xx answers, re-building each attempt, until one succeeds', async () => {
    const received: { attempt: string | undefined; body: string }[] = [];
    const server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ attempt: request.headers['x-attempt'] as string | undefined, body });
        response.statusCode = received.length < 3 ? 503 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const counters = new SandboxCounters();
    const dispatcher = new WebhookDispatcher({ counters, retryDelaysMs: [10, 10, 10] });
    dispatcher.setTarget(url);
    dispatcher.enqueue(({ attempt, url: target }) => ({ body: JSON.stringify({ target }), headers: { 'x-attempt': String(attempt), 'content-type': 'application/json' } }));
    await dispatcher.idle();
    server.close();
    expect(received).toEqual([0, 1, 2].map((attempt) => ({ attempt: String(attempt), body: JSON.stringify({ target: url }) })));
    expect(counters.snapshot().webhooks).toEqual({ delivered: 1, failedAttempts: 2, dropped: 0, duplicated: 0 });
  });

  it('duplicates and drops deliveries as configured', async () => {
    let hits = 0;
    const server = http.createServer((_request, response) => {
      hits += 1;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const counters = new SandboxCounters();
    const dispatcher = new WebhookDispatcher({ counters, chaos: { duplicateRate: 0.3, dropRate: 0.2, reorderJitterMs: 5, seed: 3 } });
    dispatcher.setTarget(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    for (let i = 0; i < 200; i += 1) dispatcher.enqueue(() => ({ body: '{}', headers: {} }));
    await dispatcher.idle();
    server.close();
    const { dropped, duplicated, delivered } = counters.snapshot().webhooks;
    expect(dropped).toBeGreaterThan(20);
    expect(duplicated).toBeGreaterThan(20);
    expect(delivered).toBe(200 - dropped + duplicated);
    expect(hits).toBe(delivered);
  });
});

describe('one clock per sandbox (CommonSandboxOptions.now)', () => {
  it("stamps records and every answer's Date header from the clock the test gives, in each of the five sandboxes", async () => {
    // A second far from the wall clock: nothing here can pass by waiting.
    const at = Date.UTC(2031, 4, 6, 7, 8, 9);
    const now = () => at;
    const sandboxes = [
      await startSalesforceSandbox({ now }),
      await startHubSpotSandbox({ now }),
      await startDynamicsSandbox({ now }),
      await startZohoSandbox({ now }),
      await startPipedriveSandbox({ now }),
    ] as const;
    try {
      for (const sandbox of sandboxes) {
        const answer = await fetch(`${sandbox.url}/__sandbox/counters`);
        expect([sandbox.name, answer.headers.get('date')]).toEqual([sandbox.name, new Date(at).toUTCString()]);
      }
      const [salesforce, hubspot, dynamics, zoho, pipedrive] = sandboxes;
      const stamps = [
        salesforce.admin.createAsUser('Contact', { LastName: 'Clock' }).SystemModstamp,
        hubspot.admin.createAsUser('contacts', { lastname: 'Clock' }).properties.lastmodifieddate,
        dynamics.admin.uiCreate('contacts', { lastname: 'Clock' }).modifiedon,
        zoho.admin.createAsUser('Contacts', { Last_Name: 'Clock' }).Modified_Time,
        pipedrive.admin.createAsUser('persons', { name: 'Clock' }).update_time,
      ];
      // Each vendor renders its stamp its own way (offsets, precision): the same second in all.
      expect(stamps.map((stamp) => Math.floor(Date.parse(String(stamp).replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) / 1000) * 1000)).toEqual(stamps.map(() => at));
    } finally {
      await Promise.all(sandboxes.map((sandbox) => sandbox.stop()));
    }
  });
});
