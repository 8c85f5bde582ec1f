import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { metricsRegistry } from '../../src/observability/metrics';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const prometheusDir = path.join(root, 'deploy', 'prometheus');
const dashboardPath = path.join(root, 'deploy', 'grafana', 'dashboards', 'crm-sync.json');
const run = promisify(execFile);

/** promtool from $PROMTOOL (.ci/run sets it), the cache scripts/install-promtool.sh fills, or PATH. */
function findPromtool(): string {
  const cached = path.join(process.env.CRM_SYNC_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'crm-sync'), 'promtool', 'promtool');
  return process.env.PROMTOOL ?? (existsSync(cached) ? cached : 'promtool');
}

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(findPromtool(), args, { cwd: prometheusDir });
    return stdout + stderr;
  } catch (error) {
    const failure = error as { code?: string; stdout?: string; stderr?: string; message: string };
    if (failure.code === 'ENOENT') throw new Error('promtool not found: run `bash scripts/install-promtool.sh` (or set PROMTOOL)', { cause: error });
    throw new Error(`promtool ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`, { cause: error });
  }
}

const dashboardSchema = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int(),
  templating: z.object({ list: z.array(z.object({ name: z.string(), query: z.unknown() })) }),
  panels: z
    .array(
      z.object({
        id: z.number().int(),
        type: z.enum(['timeseries', 'stat']),
        title: z.string().min(1),
        description: z.string().min(1),
        datasource: z.object({ type: z.literal('prometheus'), uid: z.literal('prometheus') }),
        gridPos: z.object({ h: z.number().positive(), w: z.number().positive().max(24), x: z.number().min(0).max(23), y: z.number().min(0) }),
        targets: z.array(z.object({ refId: z.string(), expr: z.string().min(1), legendFormat: z.string() })).min(1),
      }),
    )
    .min(1),
});

const metricNames = (text: string): string[] => [...new Set(text.match(/\bcrm_sync_[a-z_]+/g) ?? [])].filter((name) => !name.startsWith('crm_sync_process_'));

/**
 * The alert rules and the Grafana dashboard that docker-compose.yml mounts: promtool lints the
 * rules, the scrape config and every dashboard query, and runs the rules' unit tests (each alert
 * fires on the series it is for, not on a healthy neighbour); every crm_sync metric they name is
 * one the code defines, and the dashboard shows every metric the code defines.
 */
describe('alert rules and dashboard', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'crm-sync-alerts-'));
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('promtool accepts the rules and their unit tests pass', async () => {
    expect(await promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: 6 rules found/);
    expect(await promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('promtool accepts the scrape config with its rule file', async () => {
    // The config names the rules where the container mounts them; here they are beside it.
    const config = (await readFile(path.join(prometheusDir, 'prometheus.yml'), 'utf8')).replace('/etc/prometheus/alerts.yml', path.join(prometheusDir, 'alerts.yml'));
    await writeFile(path.join(scratch, 'prometheus.yml'), config);
    expect(await promtool('check', 'config', path.join(scratch, 'prometheus.yml'))).toMatch(/SUCCESS/);
  });

  it('every dashboard query is valid PromQL (checked by promtool as recording rules)', async () => {
    const dashboard = dashboardSchema.parse(JSON.parse(await readFile(dashboardPath, 'utf8')));
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr.replaceAll('$tenant', '.*')));
    const rules = exprs.map((expr, index) => `      - record: dashboard:query_${index}\n        expr: ${JSON.stringify(expr)}`).join('\n');
    await writeFile(path.join(scratch, 'dashboard-queries.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
    expect(await promtool('check', 'rules', path.join(scratch, 'dashboard-queries.yml'))).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });

  it('names only metrics the code defines, and the dashboard shows all of them', async () => {
    const defined = new Set((await metricsRegistry.getMetricsAsJSON()).map((metric) => metric.name).filter((name) => !name.startsWith('crm_sync_process_')));
    const dashboard = await readFile(dashboardPath, 'utf8');
    const alerts = await readFile(path.join(prometheusDir, 'alerts.yml'), 'utf8');
    expect(metricNames(alerts).filter((name) => !defined.has(name))).toEqual([]);
    expect(metricNames(dashboard).filter((name) => !defined.has(name))).toEqual([]);
    expect([...defined].filter((name) => !metricNames(dashboard).includes(name))).toEqual([]);
  });
});
