/**
 * `npm run build:workflows [out]`: bundles src/workflows once, ahead of time (default
 * `.cache/workflow-bundle.js`). A worker started with WORKFLOW_BUNDLE_PATH pointing at it skips
 * bundling at start-up, so webpack never loads into the worker and its memory stays lower. The
 * bundle must be rebuilt with the code it came from: a stale bundle runs old workflow code.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from './observability/tracing';
import { WORKFLOWS_PATH } from './worker';

export const DEFAULT_WORKFLOW_BUNDLE_PATH = path.resolve(path.dirname(WORKFLOWS_PATH), '..', '..', '.cache', 'workflow-bundle.js');

export async function buildWorkflowBundle(outPath = DEFAULT_WORKFLOW_BUNDLE_PATH): Promise<string> {
  // The OpenTelemetry workflow interceptors travel in every bundle (tracing.ts says why).
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES], logger: quietLogger });
  await mkdir(path.dirname(outPath), { recursive: true });
  await writeFile(outPath, code);
  return outPath;
}

const ignore = (): void => undefined;
const quietLogger = { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: (message: string) => console.error(message), error: (message: string) => console.error(message) };

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const written = await buildWorkflowBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`Workflow bundle written to ${written}; start workers with WORKFLOW_BUNDLE_PATH=${written}`);
}
