/**
 * The worker process the engine benchmarks spawn and measure (CPU profile, RSS): the product's own
 * createWorker (src/worker.ts) with the environment's configuration, in the benchmark's private
 * PostgreSQL schema (BENCH_SCHEMA), with connector options from BENCH_CONNECTOR_DEFAULTS (JSON,
 * e.g. {"rateLimits":false} for the engine ceiling). Prints WORKER_READY once polling.
 *
 * Spawned with an IPC channel, it profiles its main thread (where activities, connectors and the
 * pg client run) through the inspector between the messages `profile-start` and `profile-stop`
 * (answered with `{ profileWritten: path }`), so start-up and workflow bundling stay out of it.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../../src/config';
import { createPool } from '../../src/store/database';
import { createWorker } from '../../src/worker';

const config = loadConfigOrExit();
const pool = createPool(config.DATABASE_URL, { schema: process.env.BENCH_SCHEMA, max: 10 });
const connectorDefaults = JSON.parse(process.env.BENCH_CONNECTOR_DEFAULTS ?? '{}') as { rateLimits?: false };
// Quiet SDK logs: the benchmark's stdout carries its figures.
Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (message: string) => console.error(`[worker] ${message}`), error: (message: string) => console.error(`[worker] ${message}`) } });
const worker = await createWorker({ config, address: config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`, pool, supervisorSchedule: false, connectorDefaults });
const running = worker.run();
if (process.send) {
  // Connected only when a profile is asked for: no inspector in workers that are not profiled.
  let session: Session | undefined;
  process.on('message', (message: unknown) => {
    void (async () => {
      if (message === 'profile-start') {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 1000 });
        await session.post('Profiler.start');
        process.send?.({ profileStarted: true });
      } else if (message === 'memory') {
        process.send?.({ memory: process.memoryUsage() });
      } else if (message === 'profile-stop' && session) {
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        const file = `${process.env.BENCH_PROFILE_DIR ?? '.'}/worker-${process.pid}.cpuprofile`;
        await writeFile(file, JSON.stringify(profile));
        process.send?.({ profileWritten: file });
      }
    })();
  });
  // The IPC channel must not keep the process alive after the worker stops.
  process.channel?.unref();
}
console.log('WORKER_READY');
await running;
await pool.end();
