import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { searchAttributes } from '../../src/temporal/search-attributes';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const dependency = z.object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) });
const service = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), dependency)]).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  volumes: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
});
const composeSchema = z.object({ services: z.record(z.string(), service) });
type Service = z.infer<typeof service>;

async function loadCompose(): Promise<Record<string, Service>> {
  // `merge`: the file shares crm-sync's environment through a YAML merge key (`<<: *crm-sync-env`).
  return composeSchema.parse(parse(await readFile(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true })).services;
}

function tagOf(image: string | undefined, repository: string): string {
  const match = image?.match(/^([^:]+):(.+)$/);
  expect(match?.[1], `${image} is ${repository}`).toBe(repository);
  return match?.[2] ?? '';
}

function waitsFor(services: Record<string, Service>, name: string, on: string): string | undefined {
  const dependsOn = services[name]?.depends_on;
  return dependsOn && !Array.isArray(dependsOn) ? dependsOn[on]?.condition : undefined;
}

/**
 * docker-compose.yml, the production shape (issue #17: the current Temporal server images, plus
 * Prometheus and Grafana). Docker cannot run here, so the file is checked as data: Temporal as
 * Temporal now ships it (temporalio/server after a temporalio/admin-tools schema step; the
 * deprecated auto-setup image gone), at the versions the tests run on, started in an order that
 * works, with every file it mounts present in the repository.
 */
describe('docker-compose.yml', () => {
  it('runs temporalio/server after an admin-tools schema step, not the deprecated auto-setup image', async () => {
    const services = await loadCompose();
    const images = Object.values(services).flatMap((entry) => (entry.image ? [entry.image] : []));
    expect(images.filter((image) => image.startsWith('temporalio/auto-setup'))).toEqual([]);

    const server = tagOf(services.temporal?.image, 'temporalio/server');
    // The schema files come from admin-tools: they must be the ones this server version expects.
    expect(tagOf(services['temporal-schema']?.image, 'temporalio/admin-tools')).toBe(server);
    expect(tagOf(services['temporal-setup']?.image, 'temporalio/admin-tools')).toBe(server);
    expect(services['temporal-schema']?.entrypoint).toEqual(['/bin/sh', '/scripts/setup-schema.sh']);
    expect(services.temporal?.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', DYNAMIC_CONFIG_FILE_PATH: 'config/dynamicconfig/docker.yaml' });

    // Schema, then server, then namespace and search attributes, then crm-sync.
    expect(waitsFor(services, 'temporal-schema', 'postgresql')).toBe('service_healthy');
    expect(waitsFor(services, 'temporal', 'temporal-schema')).toBe('service_completed_successfully');
    expect(waitsFor(services, 'temporal-setup', 'temporal')).toBe('service_healthy');
    for (const name of ['worker', 'shim']) {
      expect(waitsFor(services, name, 'temporal-setup'), name).toBe('service_completed_successfully');
      expect(waitsFor(services, name, 'migrate'), name).toBe('service_completed_successfully');
    }
  });

  it('pins Temporal server, admin-tools and UI to the versions of the dev server the tests run on', async () => {
    const services = await loadCompose();
    const { stdout } = await promisify(execFile)(inject('temporalCliPath'), ['--version']);
    const devServer = stdout.match(/\(Server (\S+), UI (\S+)\)/);
    expect(devServer, stdout).not.toBeNull();
    expect(tagOf(services.temporal?.image, 'temporalio/server')).toBe(devServer?.[1]);
    expect(tagOf(services['temporal-ui']?.image, 'temporalio/ui')).toBe(devServer?.[2]);
  });

  it('pins every image to a version', async () => {
    const services = await loadCompose();
    for (const [name, entry] of Object.entries(services)) {
      if (entry.build !== undefined) continue;
      expect(entry.image, name).toMatch(/^[\w./-]+:v?\d+(\.\d+)*(-[\w.]+)?$/);
    }
  });

  it('registers the namespace and every search attribute the workflows upsert, with their types', async () => {
    const services = await loadCompose();
    const script = services['temporal-setup']?.command?.join(' ') ?? '';
    expect(script).toMatch(/temporal operator namespace describe --namespace default .*\|\|\s+temporal operator namespace create --namespace default/);
    const registered = [...script.matchAll(/(\w+)=(Keyword|Int|Datetime|Bool|Double|Text|KeywordList)\b/g)].map(([, name, type]) => `${name}=${type}`).sort();
    const cliType: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', DATETIME: 'Datetime', BOOL: 'Bool', DOUBLE: 'Double', TEXT: 'Text', KEYWORD_LIST: 'KeywordList' };
    const expected = Object.values(searchAttributes)
      .map((key) => `${key.name}=${cliType[key.type]}`)
      .sort();
    expect(registered).toEqual(expected);
  });

  it('adds Prometheus and Grafana with the rules, scrape config and dashboard from deploy/', async () => {
    const services = await loadCompose();
    expect(tagOf(services.prometheus?.image, 'prom/prometheus')).toMatch(/^v\d/);
    expect(tagOf(services.grafana?.image, 'grafana/grafana')).toMatch(/^\d/);
    expect(services.prometheus?.volumes).toEqual(expect.arrayContaining(['./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro', './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro']));
    expect(services.grafana?.volumes).toEqual(expect.arrayContaining(['./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro']));
  });

  it('mounts only files the repository holds, and the schema script is valid sh', async () => {
    const services = await loadCompose();
    const mounts = Object.values(services).flatMap((entry) => entry.volumes ?? []).filter((volume) => volume.startsWith('./'));
    expect(mounts.length).toBeGreaterThan(0);
    for (const mount of mounts) expect(existsSync(path.join(root, mount.split(':')[0] ?? '')), mount).toBe(true);
    await expect(promisify(execFile)('sh', ['-n', path.join(root, 'deploy/temporal/setup-schema.sh')])).resolves.toBeDefined();
    // The server reads the dynamic config file as a YAML mapping at start-up.
    expect(parse(await readFile(path.join(root, 'deploy/temporal/dynamicconfig/docker.yaml'), 'utf8'))).toBeTypeOf('object');
  });
});
