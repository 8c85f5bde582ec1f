import type { SyncStatus } from '../../../src/workflows/connection-sync-state';
import { parkedRecordsQuery } from '../../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../sync-harness';
import { adaptersFor, emailOf, type CopyView, type CrmAdapter } from './crm-adapters';
import { comparedFields, normalise, type CrmName, type Field, type Values } from './model';
import { editedValue, generateScenario, Random, type Operation, type PlannedPerson, type Scenario, type WaveName } from './scenario';
import { score, type ConflictRow, type ObservedRecord, type ScoreInput, type ScoreReport } from './scorer';
import { Truth, type JournalEntry } from './truth';

/**
 * Drives one convergence run as users would: people create records in the CRMs before the sync
 * (webhooks not yet subscribed: data that was already there), the product's connection workflows
 * are started, then people edit, conflict, create and delete through each sandbox's admin
 * surface (as in the vendor's UI, firing webhooks through the real shim, some of them dropped),
 * the worker is killed and restarted, and once the product has settled the end state is scored
 * against what people wrote.
 */
export interface ConvergenceOptions {
  crms: CrmName[];
  seed: number;
  people: number;
  /** How long the product may take to settle after the last edit (default: 390 s, or 300 ms a person if more). */
  settleTimeoutMs?: number;
  pollIntervalMs?: number;
  log?: (line: string) => void;
}

export interface ConvergenceRun {
  report: ScoreReport;
  variant: string;
  crms: CrmName[];
  seed: number;
  people: number;
  startedAt: string;
  /** Milliseconds from startedAt to the end of each phase. */
  phases: Record<string, number>;
  settled: boolean;
  settleWindows: number;
  /** Settle windows in which some connection did not finish two polls before the deadline: what it was waiting for. */
  stalls: { at: string; connectionId: string; lastPolledAt: string | null; pending: number | null; pendingActivities: PendingActivity[] }[];
  operations: Record<string, number>;
  webhooks: Partial<Record<CrmName, { delivered: number; dropped: number; duplicated: number; failedAttempts: number }>>;
  statuses: Record<string, (Pick<SyncStatus, 'state' | 'pending' | 'parked' | 'stats' | 'pollError' | 'lastPolledAt'> & { pendingActivities: PendingActivity[] }) | string>;
  writesAfterQuiet: Partial<Record<CrmName, number>>;
  /** Everything people did, in order. */
  journal: JournalEntry[];
  /** The end-state records of the people the examples name, per CRM, to read the examples against. */
  records: Record<string, Partial<Record<CrmName, ObservedRecord[]>>>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function variantName(crms: readonly CrmName[]): string {
  return crms.join('-');
}

export async function runConvergence(options: ConvergenceOptions): Promise<ConvergenceRun> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const phases: Record<string, number> = {};
  const phase = (name: string): void => {
    phases[name] = Date.now() - started;
    log(`${variantName(options.crms)}: ${name} at ${Math.round(phases[name] / 100) / 10} s`);
  };
  const pollIntervalMs = options.pollIntervalMs ?? 3_000;
  const h = await startSyncHarness({
    crms: options.crms,
    shim: true,
    sync: { objects: ['contact'], pollIntervalMs, debounceMs: 100, batchSize: 100 },
    // The sandboxes share this machine's clock: no skew to cover, and with the default five-minute
    // look-back every poll would re-read every record of the run.
    connectorDefaults: { lookbackMs: 2_000 },
  });
  try {
    const adapters = adaptersFor(h, options.crms);
    const adapterOf = (crm: CrmName): CrmAdapter => adapters.find((adapter) => adapter.crm === crm) as CrmAdapter;
    const connectionIds = adapters.map((adapter) => adapter.connectionId);
    // The tenant's sync settings: latest with the CRMs' priority, deletes propagate, no mass-delete hold.
    for (const adapter of adapters) {
      const connection = await h.connectionsRepository.getConnection(adapter.connectionId);
      if (!connection) throw new Error(`no connection ${adapter.connectionId}`);
      await h.connectionsRepository.updateSettings(adapter.connectionId, {
        ...connection.settings,
        sync: {
          ...(connection.settings.sync as object),
          conflictPolicies: { contact: { default: { kind: 'latest', priority: connectionIds } } },
          deletePolicies: { contact: 'propagate' },
          massDeleteGuard: { maxShare: 1, minDeletions: 1_000_000, windowMs: 0 },
        },
      });
    }

    const fields = comparedFields(options.crms);
    const scenario = generateScenario({ seed: options.seed, people: options.people, crms: options.crms, fields });
    const truth = new Truth(fields, options.crms);
    const people = new Map(scenario.people.map((person) => [person.id, person]));
    const locator = new Locator(adapters);
    const timing = new Random(options.seed + 101);
    const operations: Record<string, number> = {};
    const tally = (what: string): void => void (operations[what] = (operations[what] ?? 0) + 1);
    phase('harness');

    // 1. What was there before the sync: webhooks off (no subscription yet), in rounds > 1 s apart.
    const targets = adapters.map((adapter) => adapter.webhooks.target());
    for (const adapter of adapters) adapter.webhooks.setTarget(undefined);
    for (let round = 0; round < scenario.rounds; round += 1) {
      if (round > 0) await sleep(1_100);
      for (const person of scenario.people) {
        for (const copy of person.copies.filter((candidate) => candidate.round === round)) {
          const view = adapterOf(copy.crm).create(copy.values);
          truth.addCopy(person.id, copy.crm, copy.values, view.stamp);
          locator.remember(person.id, copy.crm, view.externalId);
        }
      }
    }
    adapters.forEach((adapter, index) => adapter.webhooks.setTarget(targets[index]));
    for (const adapter of adapters) await adapter.subscribeWebhooks?.(h.shimUrl as string);
    // Webhook chaos: a third of deliveries lost (polling must find those changes), some twice, out of order.
    adapters.forEach((adapter, index) => adapter.webhooks.setChaos({ dropRate: 0.3, duplicateRate: 0.1, reorderJitterMs: 250, seed: options.seed * 31 + index }));
    // Live edits never share a second with the data that was already there.
    await sleep(1_100);
    phase('pre-existing');

    // 2. The tenant's connections start: each workflow first-polls the last 24 hours.
    await Promise.all(
      connectionIds.map((connectionId) =>
        h.client.workflow.start('connectionSync', { workflowId: h.syncWorkflowId(connectionId), taskQueue: h.taskQueue, args: [{ tenantId: h.tenantId, connectionId }] }),
      ),
    );
    phase('started');

    const executor = new Executor(truth, locator, adapterOf, options.crms, tally);
    const runWave = async (name: WaveName): Promise<void> => {
      locator.refresh(scenario.people);
      let refreshed = Date.now();
      const wave = scenario.waves.find((candidate) => candidate.name === name);
      for (const operation of wave?.operations ?? []) {
        if (Date.now() - refreshed > 2_000) {
          locator.refresh(scenario.people);
          refreshed = Date.now();
        }
        await executor.run(operation, people.get(operation.personId) as PlannedPerson);
        await sleep(timing.int(15));
      }
      phase(`wave ${name} (${wave?.operations.length ?? 0} operations)`);
    };

    await runWave('first-poll');
    await waitFor(async () => (await statuses(h, connectionIds)).every((status) => status?.lastPolledAt), Date.now() + Math.max(120_000, options.people * 100));
    truth.firstContactDone = true;
    phase('first polls done');
    await runWave('live');

    // 3. The worker dies mid-run; people go on editing; it comes back.
    await h.killWorker();
    phase('worker killed');
    await runWave('worker-down');
    await sleep(1_500); // webhooks reach the shim and queue up as signals meanwhile
    await h.startWorker();
    phase('worker restarted');

    // 4. Deletions of people who by then are in every CRM.
    const victims = scenario.waves.find((wave) => wave.name === 'deletions')?.operations ?? [];
    const everywhere = (operation: Operation): boolean => options.crms.every((crm) => locator.find(people.get(operation.personId) as PlannedPerson, crm) !== undefined);
    await waitFor(async () => {
      locator.refresh(scenario.people);
      return victims.every(everywhere);
    }, Date.now() + Math.max(60_000, options.people * 50));
    const ready = victims.filter(everywhere);
    for (const operation of victims) if (!ready.includes(operation)) tally('delete skipped (not yet everywhere)');
    for (const operation of ready) {
      await executor.run(operation, people.get(operation.personId) as PlannedPerson);
      await sleep(timing.int(15));
    }
    phase(`deletions (${ready.length})`);
    await runWave('late');

    // 5. Settled: a window covering two polls of every connection with no vendor write and nothing
    // pending, once every person is once in every CRM with equal fields (the scorer's equality);
    // if they never get equal, two such windows in a row (nothing is going to change any more).
    const settleDeadline = Date.now() + (options.settleTimeoutMs ?? Math.max(390_000, options.people * 300));
    const totalWrites = (): number => adapters.reduce((sum, adapter) => sum + adapter.writes(), 0);
    const scoreNow = async (extra: Pick<ScoreInput, 'conflictRows' | 'writesAfterQuiet' | 'parked'>): Promise<ScoreReport> =>
      score({ crms: options.crms, fields, people: truth.expected(), observed: await observe(h, adapters), ...extra });
    let settled = false;
    let settleWindows = 0;
    let quietWindows = 0;
    const stalls: ConvergenceRun['stalls'] = [];
    while (!settled && Date.now() < settleDeadline) {
      await Promise.race([Promise.all(adapters.map((adapter) => adapter.webhooks.idle())), sleep(10_000)]);
      const before = totalWrites();
      const polled = await fullPolls(h, connectionIds, settleDeadline);
      const pending = (await statuses(h, connectionIds)).reduce((sum, status) => sum + (status?.pending ?? 1), 0);
      settleWindows += 1;
      if (!polled) {
        const now = await statuses(h, connectionIds);
        for (const [index, connectionId] of connectionIds.entries()) {
          stalls.push({ at: new Date().toISOString(), connectionId, lastPolledAt: now[index]?.lastPolledAt ?? null, pending: now[index]?.pending ?? null, pendingActivities: await pendingActivities(h, connectionId) });
        }
      }
      const quiet = polled && totalWrites() === before && pending === 0;
      quietWindows = quiet ? quietWindows + 1 : 0;
      const { counts } = await scoreNow({ conflictRows: [], writesAfterQuiet: {}, parked: [] });
      const equal = counts.duplicates + counts.missing + counts.resurrected + counts.strays + counts.unequalFields === 0;
      settled = quiet && (equal || quietWindows >= 2);
    }
    phase(settled ? `settled (${settleWindows} windows)` : `NOT settled within the deadline (${settleWindows} windows)`);

    // 6. The quiet period: one more window of full polls; every vendor write in it is a failure.
    const quietBefore = new Map(adapters.map((adapter) => [adapter.crm, adapter.writes()]));
    await fullPolls(h, connectionIds, Date.now() + 120_000);
    const writesAfterQuiet = Object.fromEntries(adapters.map((adapter) => [adapter.crm, adapter.writes() - (quietBefore.get(adapter.crm) ?? 0)])) as Partial<Record<CrmName, number>>;
    phase('quiet period');

    // 7. The end state, and the score.
    const observed = await observe(h, adapters);
    const report = score({ crms: options.crms, fields, people: truth.expected(), observed, conflictRows: await conflictRows(h, new Map(adapters.map((adapter) => [adapter.connectionId, adapter.crm]))), writesAfterQuiet, parked: await parked(h, connectionIds) });
    const named = new Set(Object.values(report.examples).flatMap((examples) => examples.flatMap((example) => /^p\d+/.exec(example)?.[0] ?? [])));
    const records = Object.fromEntries(
      scenario.people
        .filter((person) => named.has(person.id))
        .map((person) => [
          person.id,
          Object.fromEntries(options.crms.map((crm) => [crm, (observed[crm] ?? []).filter((record) => normalise('email', record.values.email) === person.email)])),
        ]),
    );
    const endStatuses = await statuses(h, connectionIds);
    const activities = await Promise.all(connectionIds.map((connectionId) => pendingActivities(h, connectionId)));
    return {
      report,
      variant: variantName(options.crms),
      crms: options.crms,
      seed: options.seed,
      people: options.people,
      startedAt: new Date(started).toISOString(),
      phases,
      settled,
      settleWindows,
      stalls,
      operations,
      webhooks: Object.fromEntries(adapters.map((adapter) => [adapter.crm, webhookCounters(h, adapter.crm)])),
      statuses: Object.fromEntries(
        connectionIds.map((connectionId, index) => {
          const status = endStatuses[index];
          const pendingActivities = activities[index] ?? [];
          return [
            connectionId,
            status ? { state: status.state, pending: status.pending, parked: status.parked, stats: status.stats, pollError: status.pollError, lastPolledAt: status.lastPolledAt, pendingActivities } : 'no answer',
          ];
        }),
      ),
      writesAfterQuiet,
      journal: truth.journal,
      records,
    };
  } finally {
    await h.stop();
  }
}

/** Where each person's record is in each CRM (the oldest, when the product made duplicates). */
class Locator {
  private readonly ids = new Map<string, string>();

  constructor(private readonly adapters: readonly CrmAdapter[]) {}

  remember(personId: string, crm: CrmName, externalId: string): void {
    this.ids.set(`${personId}|${crm}`, externalId);
  }

  /** Re-reads every CRM once and notes where each person is now. */
  refresh(people: readonly PlannedPerson[]): void {
    const byEmail = new Map(people.map((person) => [person.email, person.id]));
    for (const adapter of this.adapters) {
      const seen = new Set<string>();
      for (const view of adapter.list()) {
        const personId = byEmail.get(emailOf(view));
        if (personId === undefined || seen.has(personId)) continue;
        seen.add(personId);
        const key = `${personId}|${adapter.crm}`;
        if (!this.ids.has(key) || !adapter.get(this.ids.get(key) as string)) this.ids.set(key, view.externalId);
      }
    }
  }

  /**
   * The person's record in that CRM as it is now (synchronous: nothing runs between this read and
   * an edit). A record the product created since the last refresh is not seen until the next one,
   * as a person sees a new record only once they reload the list.
   */
  find(person: PlannedPerson, crm: CrmName): CopyView | undefined {
    const adapter = this.adapters.find((candidate) => candidate.crm === crm) as CrmAdapter;
    const key = `${person.id}|${crm}`;
    const known = this.ids.get(key);
    if (known === undefined) return undefined;
    const view = adapter.get(known);
    if (view && emailOf(view) === person.email) return view;
    // Gone (deleted, or merged by the product): look again.
    const found = adapter.list().find((candidate) => emailOf(candidate) === person.email);
    if (found) this.ids.set(key, found.externalId);
    else this.ids.delete(key);
    return found;
  }
}

/** Carries out planned operations as people, telling the truth what was written and when. */
class Executor {
  private counter = 0;

  constructor(
    private readonly truth: Truth,
    private readonly locator: Locator,
    private readonly adapterOf: (crm: CrmName) => CrmAdapter,
    private readonly crms: readonly CrmName[],
    private readonly tally: (what: string) => void,
  ) {}

  async run(operation: Operation, person: PlannedPerson): Promise<void> {
    switch (operation.kind) {
      case 'create': {
        const create = person.liveCreate;
        if (!create) return;
        const view = this.adapterOf(create.crm).create(create.values);
        this.truth.addCopy(person.id, create.crm, create.values, view.stamp);
        this.locator.remember(person.id, create.crm, view.externalId);
        this.tally('create');
        return;
      }
      case 'delete': {
        const [crm] = this.present(person, [operation.crm], 1);
        const view = crm && this.locator.find(person, crm);
        if (!crm || !view) return this.tally('delete skipped (nowhere)');
        this.adapterOf(crm).remove(view.externalId);
        this.truth.delete(person.id, crm);
        return this.tally('delete');
      }
      case 'erase': {
        // A person empties a field that shows a value in that CRM (emptying an empty field is no edit).
        const [crm] = this.present(person, [operation.crm], 1);
        const shown = crm ? this.locator.find(person, crm)?.values : undefined;
        const field = [operation.field, ...this.truth.fields].find((candidate) => candidate !== 'email' && candidate !== 'lastName' && (shown?.[candidate] ?? '') !== '');
        if (!crm || !field) return this.tally('erase skipped');
        this.edit(person, crm, { [field]: '' });
        return this.tally('erase');
      }
      case 'fields': {
        const crms = this.present(
          person,
          operation.edits.map((edit) => edit.crm),
          operation.edits.length,
        );
        // Both edits in the same tick: made at the same moment, neither can have reached the other CRM.
        crms.forEach((crm, index) => this.edit(person, crm, { [(operation.edits[index] as { field: Field }).field]: this.value((operation.edits[index] as { field: Field }).field, person) }));
        return this.tally(crms.length === 2 ? 'different fields, two CRMs' : crms.length === 1 ? 'single edit' : 'edit skipped (nowhere)');
      }
      case 'conflict': {
        const crms = this.present(person, operation.crms, 2);
        const [first, second] = crms;
        if (!first) return this.tally('conflict skipped (nowhere)');
        this.edit(person, first, { [operation.field]: this.value(operation.field, person) });
        if (!second) return this.tally('conflict downgraded (one CRM)');
        if (operation.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, operation.gapMs));
        this.edit(person, second, { [operation.field]: this.value(operation.field, person) });
        return this.tally(operation.gapMs > 0 ? 'same field, two CRMs, apart' : 'same field, two CRMs, same moment');
      }
    }
  }

  private value(field: Field, person: PlannedPerson): string {
    this.counter += 1;
    return editedValue(field, person, this.counter);
  }

  /** Up to `count` distinct CRMs where the person's record is now: the planned ones first. */
  private present(person: PlannedPerson, planned: readonly CrmName[], count: number): CrmName[] {
    const order = [...new Set([...planned, ...this.crms])];
    return order.filter((crm) => this.locator.find(person, crm) !== undefined).slice(0, count);
  }

  /** Reads the record and edits it in one tick: `before` is exactly what the person saw. */
  private edit(person: PlannedPerson, crm: CrmName, changes: Values): void {
    const view = this.locator.find(person, crm);
    if (!view) throw new Error(`${person.id} vanished from ${crm}`);
    const after = this.adapterOf(crm).edit(view.externalId, changes);
    this.truth.edit(person.id, crm, changes, after.stamp, view.values);
  }
}

async function statuses(h: SyncHarness, connectionIds: readonly string[]): Promise<(SyncStatus | undefined)[]> {
  return Promise.all(connectionIds.map((connectionId) => h.syncStatus(connectionId).catch(() => undefined)));
}

async function waitFor(condition: () => Promise<boolean>, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(500);
  }
  return false;
}

/**
 * Waits until every connection has finished two polls after now: the second of them started after
 * the first finished, so after now. False when the deadline came first.
 */
async function fullPolls(h: SyncHarness, connectionIds: readonly string[], deadline: number): Promise<boolean> {
  const first = new Map<string, string | null>();
  const completions = new Map<string, number>();
  while (Date.now() < deadline) {
    const now = await statuses(h, connectionIds);
    connectionIds.forEach((connectionId, index) => {
      const status = now[index];
      if (!status) return;
      if (!first.has(connectionId)) first.set(connectionId, status.lastPolledAt);
      else if (status.lastPolledAt !== first.get(connectionId)) {
        first.set(connectionId, status.lastPolledAt);
        completions.set(connectionId, (completions.get(connectionId) ?? 0) + 1);
      }
    });
    if (connectionIds.every((connectionId) => (completions.get(connectionId) ?? 0) >= 2)) return true;
    await sleep(200);
  }
  return false;
}

async function observe(h: SyncHarness, adapters: readonly CrmAdapter[]): Promise<Partial<Record<CrmName, ObservedRecord[]>>> {
  const links = new Map<string, string[]>();
  try {
    const rows = await h.db.pool.query<{ connection_id: string; external_id: string; canonical_id: string }>(
      `SELECT connection_id, external_id, canonical_id::text AS canonical_id FROM record_links WHERE tenant_id = $1 AND object_type = 'contact'`,
      [h.tenantId],
    );
    for (const row of rows.rows) links.set(`${row.connection_id}|${row.external_id}`, [...(links.get(`${row.connection_id}|${row.external_id}`) ?? []), row.canonical_id]);
  } catch {
    // No record_links table (another engine): the sync ids on the records still name the records.
  }
  return Object.fromEntries(
    adapters.map((adapter) => [
      adapter.crm,
      adapter.list().map((view) => ({
        externalId: view.externalId,
        values: view.values,
        canonicalIds: [...new Set([...(view.syncId ? [view.syncId] : []), ...(links.get(`${adapter.connectionId}|${view.externalId}`) ?? [])])],
      })),
    ]),
  );
}

async function conflictRows(h: SyncHarness, crmOf: ReadonlyMap<string, CrmName>): Promise<ConflictRow[]> {
  const rows = await h.db.pool.query<{ canonical_id: string; field: string; candidates: { connectionId: string; value: unknown; modifiedAt: string | null }[]; decided_value: unknown }>(
    `SELECT canonical_id::text AS canonical_id, field, candidates, decided_value FROM conflicts WHERE tenant_id = $1 AND object_type = 'contact'`,
    [h.tenantId],
  );
  return rows.rows.map((row) => ({
    canonicalId: row.canonical_id,
    field: row.field,
    candidates: row.candidates.map((candidate) => ({ crm: crmOf.get(candidate.connectionId), value: candidate.value, modifiedAt: candidate.modifiedAt })),
    decidedValue: row.decided_value,
  }));
}

async function parked(h: SyncHarness, connectionIds: readonly string[]): Promise<{ connection: string; key: string; message?: string }[]> {
  const lists = await Promise.all(
    connectionIds.map(async (connectionId) => {
      const records = await h.client.workflow.getHandle(h.syncWorkflowId(connectionId)).query(parkedRecordsQuery);
      return records.map((record) => ({ connection: connectionId, key: record.key, message: record.error.message }));
    }),
  );
  return lists.flat();
}

/** Activities a workflow waits for at the end (a stall shows here: type, attempt, since when). */
export interface PendingActivity {
  type: string;
  attempt: number;
  state: number;
  lastStartedAt: string | null;
  lastFailure: string | null;
}

async function pendingActivities(h: SyncHarness, connectionId: string): Promise<PendingActivity[]> {
  const description = await h.client.workflow
    .getHandle(h.syncWorkflowId(connectionId))
    .describe()
    .catch(() => undefined);
  const at = (stamp: { seconds?: unknown } | null | undefined): string | null => (stamp?.seconds === undefined || stamp.seconds === null ? null : new Date(Number(stamp.seconds) * 1000).toISOString());
  return (description?.raw.pendingActivities ?? []).map((activity) => ({
    type: activity.activityType?.name ?? '?',
    attempt: activity.attempt ?? 0,
    state: Number(activity.state ?? 0),
    lastStartedAt: at(activity.lastStartedTime),
    lastFailure: activity.lastFailure?.message ?? null,
  }));
}

function webhookCounters(h: SyncHarness, crm: CrmName): { delivered: number; dropped: number; duplicated: number; failedAttempts: number } | undefined {
  const sandbox = h[crm]?.sandbox;
  return sandbox?.counters.snapshot().webhooks;
}

export type { Scenario };
