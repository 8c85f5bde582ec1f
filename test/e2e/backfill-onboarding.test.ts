/**
 * Issue 13, acceptance 3: "Backfill of 10,000 Salesforce contacts into a HubSpot that already
 * holds 3,000 of them and into a Dynamics holding 2,000 (some overlapping): one record per person
 * everywhere, no value erased."
 *
 * Black box: sandboxes seeded through their admin surfaces, one contact backfill from the
 * Salesforce connection (the connection workflows are never started, so only the backfill
 * writes), then every CRM read back and judged by test/support/onboarding-population.ts.
 *
 *   Reduced (600 people, the default, what `npm test` runs):
 *     npx vitest run test/e2e/backfill-onboarding.test.ts
 *   Full size (10,000 people: 3,000 already in HubSpot, 2,000 in Dynamics, 1,000 in all three):
 *     BACKFILL_ONBOARDING_PEOPLE=10000 npx vitest run test/e2e/backfill-onboarding.test.ts
 *   Another population: BACKFILL_ONBOARDING_SEED=<integer> (default 13).
 *
 * The report (counts of duplicates, missing, erased and disagreeing values, with examples) is
 * printed and written to .reports/backfill-onboarding.json, pass or fail.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillProgressQuery, startBackfill, type BackfillProgress } from '../../src/client/backfill';
import {
  comparedContactFields,
  evaluateOnboarding,
  ONBOARDING_CRMS,
  planPopulation,
  seedPopulation,
  snapshotContacts,
  type OnboardingSandboxes,
} from '../support/onboarding-population';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

const positiveInt = (text: string | undefined, fallback: number): number => {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
};
const PEOPLE = positiveInt(process.env.BACKFILL_ONBOARDING_PEOPLE, 600);
const SEED = positiveInt(process.env.BACKFILL_ONBOARDING_SEED, 13);
/** Several export pages even at the reduced size: matching must hold across pages. */
const EXPORT_PAGE_SIZE = Math.min(2_000, Math.max(100, Math.ceil(PEOPLE / 3)));
/** How long the backfill may take before it counts as stuck (generous for a busy 2-core machine). */
const BACKFILL_DEADLINE_MS = 60_000 + PEOPLE * 30;
const reportFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.reports', 'backfill-onboarding.json');

describe(`onboarding backfill: ${PEOPLE.toLocaleString('en')} Salesforce contacts into a HubSpot and a Dynamics that already hold some of them`, () => {
  let h: SyncHarness;
  let sandboxes: OnboardingSandboxes;

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot', 'dynamics'],
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000 },
      providerConnectorOptions: { salesforce: { bulk: { exportPageSize: EXPORT_PAGE_SIZE, pollIntervalMs: 50 } } },
    });
    sandboxes = { salesforce: h.salesforce!.sandbox, hubspot: h.hubspot!.sandbox, dynamics: h.dynamics!.sandbox };
  });
  afterAll(async () => {
    await h?.stop();
  });

  it(
    'leaves one record per person in each CRM, erases no value, and ends every CRM on the newest copy’s value',
    async () => {
      const started = Date.now();
      const fields = comparedContactFields();
      expect([...fields.salesforce.keys()]).toContain('email');
      const plan = planPopulation(PEOPLE, SEED);
      await seedPopulation(sandboxes, plan, fields);
      const before = snapshotContacts(sandboxes, fields);
      const seededMs = Date.now() - started;
      const population = {
        salesforce: before.filter((copy) => copy.crm === 'salesforce').length,
        hubspot: before.filter((copy) => copy.crm === 'hubspot').length,
        dynamics: before.filter((copy) => copy.crm === 'dynamics').length,
        inAllThree: plan.people.filter((person) => person.hubspot && person.dynamics).length,
        comparedFields: [...fields.salesforce.keys()],
      };
      expect(population).toMatchObject({ salesforce: PEOPLE, hubspot: Math.round(PEOPLE * 0.3), dynamics: Math.round(PEOPLE * 0.4) - Math.round(PEOPLE * 0.2) });

      const backfillStarted = Date.now();
      const handle = await startBackfill(h.client, h.taskQueue, { tenantId: h.tenantId, connectionId: h.salesforce!.id, objectType: 'contact', targets: [h.hubspot!.id, h.dynamics!.id] });
      const outcome = await backfillOutcome(handle, BACKFILL_DEADLINE_MS);
      const backfillMs = Date.now() - backfillStarted;

      const after = snapshotContacts(sandboxes, fields);
      const evaluation = evaluateOnboarding(before, after, fields);
      const failedTotal = Object.values(outcome.progress?.failed ?? {}).reduce((sum, count) => sum + count, 0);
      const summary = {
        backfill: outcome.state,
        failed: failedTotal,
        duplicates: ONBOARDING_CRMS.reduce((sum, crm) => sum + evaluation.perCrm[crm].duplicates, 0),
        missing: ONBOARDING_CRMS.reduce((sum, crm) => sum + evaluation.perCrm[crm].missing, 0),
        strangers: ONBOARDING_CRMS.reduce((sum, crm) => sum + evaluation.perCrm[crm].strangers, 0),
        erased: evaluation.erased,
        disagreeing: evaluation.disagreeing,
        records: Object.fromEntries(ONBOARDING_CRMS.map((crm) => [crm, evaluation.perCrm[crm].records])),
      };
      const report = {
        test: 'test/e2e/backfill-onboarding.test.ts',
        acceptance: 'issue 13, acceptance 3',
        finishedAt: new Date().toISOString(),
        people: PEOPLE,
        seed: SEED,
        exportPageSize: EXPORT_PAGE_SIZE,
        population: { ...population, contestedFields: evaluation.contestedFields, tiedFields: evaluation.tiedFields },
        summary,
        backfill: {
          state: outcome.state,
          error: outcome.error,
          recordsRead: outcome.progress?.recordsRead,
          written: outcome.progress?.written,
          failed: outcome.progress?.failed,
          // The first few listed failures of each target.
          failures: (outcome.progress?.targets ?? []).flatMap((target) => (outcome.progress?.failures ?? []).filter((failure) => failure.targetConnectionId === target).slice(0, 3)),
        },
        perCrm: evaluation.perCrm,
        values: {
          erased: evaluation.erased,
          erasedFromOwnRecord: evaluation.erasedFromOwnRecord,
          disagreeing: evaluation.disagreeing,
          split: evaluation.split,
          stale: evaluation.stale,
          disagreeingWhereCopiesDiffered: evaluation.disagreeingWhereCopiesDiffered,
        },
        examples: evaluation.examples,
        timingsMs: { seed: seededMs, backfill: backfillMs, total: Date.now() - started },
      };
      await mkdir(path.dirname(reportFile), { recursive: true });
      await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
      console.info(
        [
          `[backfill-onboarding] ${PEOPLE} people (seed ${SEED}): Salesforce ${population.salesforce}, HubSpot ${population.hubspot}, Dynamics ${population.dynamics} before, ${population.inAllThree} in all three; ${evaluation.contestedFields} fields contested (${evaluation.tiedFields} tied)`,
          `  backfill ${outcome.state}${outcome.error ? ` (${outcome.error})` : ''} in ${backfillMs} ms: read ${outcome.progress?.recordsRead ?? '?'}, written ${JSON.stringify(outcome.progress?.written ?? {})}, failed ${failedTotal}`,
          ...ONBOARDING_CRMS.map((crm) => {
            const c = evaluation.perCrm[crm];
            return `  ${crm.padEnd(10)} ${c.records} records, ${c.distinctPeople} people: ${c.duplicates} duplicates, ${c.missing} missing, ${c.strangers} strangers`;
          }),
          `  values: ${evaluation.erased} erased (${evaluation.erasedFromOwnRecord} from the CRM's own record), ${evaluation.disagreeing} disagreeing (${evaluation.split} split, ${evaluation.stale} stale; ${evaluation.disagreeingWhereCopiesDiffered} where copies differed)`,
          `  report: ${path.relative(process.cwd(), reportFile)}; seed ${seededMs} ms, total ${report.timingsMs.total} ms`,
        ].join('\n'),
      );

      expect(summary).toEqual({
        backfill: 'completed',
        failed: 0,
        duplicates: 0,
        missing: 0,
        strangers: 0,
        erased: 0,
        disagreeing: 0,
        records: { salesforce: PEOPLE, hubspot: PEOPLE, dynamics: PEOPLE },
      });
    },
    120_000 + BACKFILL_DEADLINE_MS + PEOPLE * 20,
  );
});

interface BackfillOutcome {
  state: 'completed' | 'failed' | 'stuck';
  progress?: BackfillProgress;
  error?: string;
}

/**
 * Waits for the backfill workflow's result. A failed workflow is an outcome to report, and so is
 * one still running at the deadline (terminated then, with its last progress), so the test always
 * gets to judge the CRMs.
 */
async function backfillOutcome(handle: Awaited<ReturnType<typeof startBackfill>>, deadlineMs: number): Promise<BackfillOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
  const result = handle.result().then(
    (progress): BackfillOutcome => ({ state: 'completed', progress }),
    (error: unknown): BackfillOutcome => ({ state: 'failed', error: describeError(error) }),
  );
  const first = await Promise.race([result, deadline]);
  clearTimeout(timer);
  const lastProgress = (): Promise<BackfillProgress | undefined> => handle.query(backfillProgressQuery).catch(() => undefined);
  if (first !== 'deadline') return first.progress ? first : { ...first, ...withProgress(await lastProgress()) };
  const progress = await lastProgress();
  await handle.terminate('backfill-onboarding test: past its deadline').catch(() => undefined);
  return { state: 'stuck', error: `still running after ${deadlineMs} ms`, ...withProgress(progress) };
}

const withProgress = (progress: BackfillProgress | undefined): { progress?: BackfillProgress } => (progress ? { progress } : {});

function describeError(error: unknown): string {
  const messages: string[] = [];
  for (let cause: unknown = error; cause instanceof Error && messages.length < 4; cause = cause.cause) messages.push(cause.message);
  return messages.join(' <- ');
}
