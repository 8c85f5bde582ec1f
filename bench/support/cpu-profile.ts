import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  files: number;
  /** Milliseconds sampled, all threads together (the main thread and the workflow threads). */
  sampledMs: number;
  /** Self time by area, in ms and as a share of the non-idle time. */
  byArea: { area: string; ms: number; share: number }[];
  topFunctions: { fn: string; where: string; area: string; ms: number }[];
}

/** Which part of the system a stack frame's code belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native (program)';
  if (/@temporalio|\/src\/workflows\/|workflow-bundle|__temporal/.test(url)) return 'Temporal (SDK + workflow code)';
  if (/\/node_modules\/(pg|pg-protocol|pg-pool|pg-types|rate-limiter-flexible)\/|\/src\/store\//.test(url)) return 'PostgreSQL (pg, repositories)';
  if (/\/src\/model\/|record-mapper|default-mapping|csv-parse|reference-translation/.test(url)) return 'mapping (canonical model, CSV, references)';
  if (/undici|node:_http|node:http|node:net|node:tls|node:dns|@hubspot|jsforce|\/src\/connectors\/|node-fetch|form-data|whatwg/.test(url)) return 'HTTP (clients, connectors)';
  if (/\/node_modules\/zod\//.test(url)) return 'validation (zod)';
  if (/\/src\/activities\//.test(url)) return 'activities (glue)';
  if (url.startsWith('node:')) return 'Node core (streams, events, buffers)';
  if (url === '') return 'V8 builtins';
  return 'other';
}

export async function summariseProfiles(directory: string, top = 15): Promise<ProfileSummary> {
  const files = (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile'));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { fn: string; where: string; area: string; ms: number }>();
  let sampledMs = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(directory, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, index) => {
      const ms = (profile.timeDeltas[index] ?? 0) / 1000;
      const node = nodes.get(id);
      if (!node) return;
      const { functionName, url, lineNumber } = node.callFrame;
      const area = areaOf(url, functionName);
      sampledMs += ms;
      byArea.set(area, (byArea.get(area) ?? 0) + ms);
      const where = url ? `${url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/')}:${lineNumber + 1}` : '';
      const key = `${functionName}@${where}`;
      const entry = byFunction.get(key) ?? { fn: functionName || '(anonymous)', where, area, ms: 0 };
      entry.ms += ms;
      byFunction.set(key, entry);
    });
  }
  const busy = sampledMs - (byArea.get('idle') ?? 0);
  return {
    files: files.length,
    sampledMs: Math.round(sampledMs),
    byArea: [...byArea.entries()]
      .filter(([area]) => area !== 'idle')
      .map(([area, ms]) => ({ area, ms: Math.round(ms), share: Math.round((ms / busy) * 1000) / 10 }))
      .sort((a, b) => b.ms - a.ms),
    topFunctions: [...byFunction.values()]
      .filter((entry) => entry.area !== 'idle')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((entry) => ({ ...entry, ms: Math.round(entry.ms) })),
  };
}
