import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { demoConnections } from '../../../src/dev/demo-tenant';
import type { NewConnection } from '../../../src/store/connections-repository';
import type { HubSpotSandbox } from '../../../src/sandbox/hubspot';
import type { SalesforceSandbox } from '../../../src/sandbox/salesforce';

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output (no shell). */
export function run(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running child whose output is kept, resolved once a line matches `ready` (or rejected when it exits first). */
export async function startProcess(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; ready: RegExp }): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (options.ready.test(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', reject);
    void exited.then((code) => reject(new Error(`${command} ${args.join(' ')} exited (${code}) before it was ready:\n${output}`)));
  });
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Only what a process needs from this one (PATH, HOME…), none of the TEMPORAL_/DATABASE_/CRM_SYNC_ settings of the shell running the tests. */
export function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|TEMPORAL_|CRM_SYNC_|SHIM_|NODE_ENV|WORKFLOW_BUNDLE_PATH|npm_)/.test(name)));
}

/**
 * The settings and credentials files an operator gives `crm-sync connection add` for the two
 * sandboxes (the same shapes `npm start` stores), written into `dir`.
 */
export function writeSandboxConnectionFiles(dir: string, sandboxes: { salesforce: SalesforceSandbox; hubspot: HubSpotSandbox }): Record<'salesforce' | 'hubspot', { settings: string; credentials: string }> {
  const [salesforce, hubspot] = demoConnections(sandboxes);
  const files = (name: string, connection: NewConnection | undefined): { settings: string; credentials: string } => {
    if (!connection) throw new Error('demoConnections returned fewer connections than expected');
    const settings = path.join(dir, `${name}-settings.json`);
    const credentials = path.join(dir, `${name}-credentials.json`);
    writeFileSync(settings, JSON.stringify(connection.settings));
    writeFileSync(credentials, JSON.stringify(connection.credentials), { mode: 0o600 });
    return { settings, credentials };
  };
  return { salesforce: files('salesforce', salesforce), hubspot: files('hubspot', hubspot) };
}
