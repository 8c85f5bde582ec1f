/**
 * `npm run bench`: every engine benchmark of issue #7 once, one after another (each starts its own
 * Temporal dev server, PostgreSQL schema, sandboxes, worker and shim), quick sizes by default.
 * Arguments pass through: `npm run bench -- --full` runs full sizes (hours, not minutes);
 * `--only backfill-ceiling,memory` picks some. Prints every BENCH_RESULT line again at the end.
 * The sandbox throughput benchmarks stay in `npm run bench:sandboxes`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { option } from './support/machine';

const BENCHMARKS = ['backfill-ceiling', 'engine-ceiling', 'webhook-ingest', 'live-lag', 'cdc-lag', 'memory'] as const;
const here = path.dirname(fileURLToPath(import.meta.url));
const only = option('only', 'BENCH_ONLY', '').split(',').filter(Boolean);
const unknown = only.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  process.stderr.write(`--only: unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}\n`);
  process.exit(2);
}
const passThrough = process.argv.slice(2).filter((arg, index, all) => arg !== '--only' && all[index - 1] !== '--only' && !arg.startsWith('--only='));

const results: string[] = [];
let failed = 0;
for (const name of BENCHMARKS.filter((candidate) => only.length === 0 || only.includes(candidate))) {
  console.error(`\n=== ${name} ===`);
  const code = await new Promise<number>((resolve) => {
    // The benchmark process holds both sandboxes, every record in memory (about 3 GB at 1,000,000);
    // the worker it measures is a separate process with Node's default heap.
    const child = spawn(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', path.join(here, `${name}.bench.ts`), ...passThrough], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      buffered += chunk.toString();
    });
    child.once('exit', (exitCode) => {
      results.push(...buffered.split('\n').filter((line) => line.startsWith('BENCH_RESULT ')));
      resolve(exitCode ?? 1);
    });
  });
  if (code !== 0) {
    failed += 1;
    console.error(`${name} failed (exit code ${code})`);
  }
}
console.error('\n=== results ===');
for (const line of results) console.log(line);
process.exitCode = failed > 0 ? 1 : 0;
