// One round of the evacuation benchmark on the bed: N fresh standalone VMIs packed on one node, the
// node dies and is fenced (out-of-service taint), and either the operator (with N InstanceEvacuations
// waiting in Fencing) or the floor script brings every VMI back Running on another node. The clock
// starts when the taint is sent; each replacement VMI is timestamped by a watch.
// Imported only once the bed is up: the e2e support modules read its kubeconfig when loaded.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { failNode, recoverNode } from '../e2e/bed/bed.ts';
import { createEvacuation } from '../e2e/support/evacuation.ts';
import { startOperator } from '../e2e/support/evacuator.ts';
import { core, createNamespace, eventually, kc, objects } from '../e2e/support/kube.ts';
import { vmiManifest } from '../e2e/support/kubevirt.ts';
import { addTaint, outOfServiceTaint, readyStatus, removeTaint } from '../e2e/support/nodes.ts';
import type { OperatorProcess } from '../e2e/support/operator-process.ts';
import { PHASES } from '../src/api/v1alpha1/constants.ts';
import { DEFAULT_CONFIG } from '../src/evacuation/observed.ts';
import { REPORTING_CONTROLLER } from '../src/runtime/events.ts';
import { HttpMethod, kubeRestClient } from '../src/runtime/rest.ts';
import { Floor, type FloorVmi, type Step } from './floor.ts';
import { summarize, type Summary } from './stats.ts';
import { VmiTimeline } from './timeline.ts';

export type Mode = 'operator' | 'floor';

export interface RoundOptions {
  size: number;
  mode: Mode;
  /** The operator's --workers. */
  workers: number;
  /** How long every replacement may take to be Running, from the taint. */
  timeoutMs: number;
  /** The operator's --log-level (info: what users run; debug shows every reconcile). */
  operatorLogLevel: string;
  /** Where to write the operator's log lines (JSON, one a line), if anywhere. */
  operatorLogDir?: string;
}

export interface OperatorStats {
  rssMiB: number;
  cpuSeconds: number;
  reconciles: Record<string, number>;
  reconcileErrors: number;
  workqueueAdds: number;
  workqueueRetries: number;
  /** V8 heap in use (nodejs_heap_size_used_bytes), to tell a live heap from RSS not given back. */
  heapUsedMiB: number;
  /** Mean ms per reconcile, and mean ms a key waited in the queue for a worker. */
  reconcileMeanMs: number;
  queueWaitMeanMs: number;
  /** Events the operator recorded in the round's namespace (each one an API write). */
  events: number;
  /** Median seconds (whole-second timestamps) each evacuation spent in a phase, from its status. */
  phaseMedianSeconds: Record<string, number>;
}

export interface RoundResult {
  size: number;
  mode: Mode;
  /** ms from the taint to each replacement VMI first seen, and first seen Running. */
  createdMs: number[];
  runningMs: number[];
  created: Summary;
  running: Summary;
  /** ms from the taint to the first request of each step, per VMI: the operator's from its log. */
  steps: Partial<Record<Step, Summary>>;
  /** Seconds spent preparing the round (VMIs Running, node NotReady, evacuations in Fencing). */
  setupSeconds: Record<string, number>;
  /** Nodes the replacements ran on, with counts. */
  targets: Record<string, number>;
  operator?: OperatorStats;
  floorRequests?: number;
}

const rest = kubeRestClient(kc);
const log = (message: string) => console.error(`bench: ${message}`);
const elapsed = (from: number) => Number(((performance.now() - from) / 1000).toFixed(1));

/** Runs `task` over `items` with at most `limit` in flight. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

async function setUnschedulable(node: string, unschedulable: boolean): Promise<void> {
  await rest.request(HttpMethod.PATCH, `/api/v1/nodes/${node}`, {
    body: { spec: { unschedulable: unschedulable || null } },
    contentType: 'application/merge-patch+json',
  });
}

interface ListedVmi {
  metadata: { name: string; uid: string };
  status?: { phase?: string; nodeName?: string };
}

async function listVmis(namespace: string): Promise<(ListedVmi & Record<string, unknown>)[]> {
  const list = await rest.request<{ items: (ListedVmi & Record<string, unknown>)[] }>(
    HttpMethod.GET,
    `/apis/kubevirt.io/v1/namespaces/${namespace}/virtualmachineinstances`,
  );
  return list.items;
}

export async function bedNodes(): Promise<string[]> {
  const nodes = await core.listNode({ labelSelector: 'evacuator.dev/bed-node=true' });
  return nodes.items
    .map((n) => n.metadata!.name!)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** N standalone VMIs Running on `source`: the other nodes are cordoned while they are scheduled. */
async function packVmis(namespace: string, size: number, source: string, others: string[]): Promise<void> {
  for (const node of others) await setUnschedulable(node, true);
  try {
    const names = Array.from({ length: size }, (_, i) => `vmi-${String(i + 1).padStart(3, '0')}`);
    await pool(names, 10, (name) => objects.create(vmiManifest(namespace, name)));
    await eventually(
      `${size} VMIs Running on ${source}`,
      async () => {
        const vmis = await listVmis(namespace);
        const running = vmis.filter((v) => v.status?.phase === 'Running');
        const elsewhere = running.filter((v) => v.status?.nodeName !== source);
        if (elsewhere.length > 0)
          throw new Error(`${elsewhere.length} VMIs ran on another node than ${source}`);
        return running.length === size ? true : undefined;
      },
      300_000,
      1000,
    );
  } finally {
    for (const node of others) await setUnschedulable(node, false);
  }
}

async function waitNotReady(node: string): Promise<void> {
  await eventually(
    `${node} NotReady`,
    async () => (readyStatus(await core.readNode({ name: node })) !== 'True' ? true : undefined),
    180_000,
    500,
  );
}

interface EvacuationList {
  items: { status?: { phase?: string; phaseTimestamps?: Record<string, string> } }[];
}

async function listEvacuations(namespace: string): Promise<EvacuationList['items']> {
  return (
    await rest.request<EvacuationList>(
      HttpMethod.GET,
      `/apis/evacuator.dev/v1alpha1/namespaces/${namespace}/instanceevacuations`,
    )
  ).items;
}

async function waitAllInPhase(namespace: string, size: number, phase: string): Promise<void> {
  await eventually(
    `${size} InstanceEvacuations in phase ${phase}`,
    async () => {
      const items = await listEvacuations(namespace);
      const other = items.filter((e) => ['Failed', 'Completed'].includes(e.status?.phase ?? ''));
      if (other.length > 0) throw new Error(`${other.length} evacuations ended ${other[0]!.status?.phase}`);
      return items.filter((e) => e.status?.phase === phase).length === size ? true : undefined;
    },
    180_000,
    500,
  );
}

function cpuSeconds(pid: number): number {
  // Fields 14 and 15 of /proc/PID/stat (after the parenthesised command): utime and stime in ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function median(values: number[]): number {
  return summarize(values).median;
}

async function operatorStats(operator: OperatorProcess, namespace: string): Promise<OperatorStats> {
  const scrape = await operator.scrape();
  const controller = { controller: 'instanceevacuation' };
  const sum = (name: string, labels: Record<string, string> = {}) =>
    scrape.find(name, labels).reduce((total, s) => total + s.value, 0);
  const reconciles: Record<string, number> = {};
  for (const s of scrape.find('controller_runtime_reconcile_total', controller))
    reconciles[s.labels.result ?? '?'] = s.value;
  const phases: Record<string, number[]> = {};
  for (const e of await listEvacuations(namespace)) {
    // In the state machine's order: a step can pass through several phases within one second.
    const ts = PHASES.flatMap((phase) => {
      const at = e.status?.phaseTimestamps?.[phase];
      return at === undefined ? [] : [[phase, Date.parse(at)] as const];
    });
    for (let i = 0; i + 1 < ts.length; i++)
      (phases[ts[i]![0]] ??= []).push((ts[i + 1]![1] - ts[i]![1]) / 1000);
  }
  const mean = (name: string, labels: Record<string, string>) =>
    Math.round((sum(`${name}_sum`, labels) / Math.max(1, sum(`${name}_count`, labels))) * 1000);
  const events = await rest.request<{ items: { reportingController?: string }[] }>(
    HttpMethod.GET,
    `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
  );
  return {
    reconcileMeanMs: mean('controller_runtime_reconcile_time_seconds', controller),
    queueWaitMeanMs: mean('workqueue_queue_duration_seconds', { name: 'instanceevacuation' }),
    events: events.items.filter((e) => e.reportingController === REPORTING_CONTROLLER).length,
    heapUsedMiB: Math.round(sum('nodejs_heap_size_used_bytes') / 1024 / 1024),
    rssMiB: Math.round(operator.rssBytes() / 1024 / 1024),
    cpuSeconds: cpuSeconds(operator.pid),
    reconciles,
    reconcileErrors: sum('controller_runtime_reconcile_errors_total', controller),
    workqueueAdds: sum('workqueue_adds_total', { name: 'instanceevacuation' }),
    workqueueRetries: sum('workqueue_retries_total', { name: 'instanceevacuation' }),
    phaseMedianSeconds: Object.fromEntries(
      Object.entries(phases)
        .filter(([phase]) => phase !== 'Pending' && phase !== 'Fencing')
        .map(([phase, values]) => [phase, median(values)]),
    ),
  };
}

const STEPS: readonly Step[] = ['DeletePod', 'DeleteVmi', 'CreateVmi'];

/** When the operator first applied each step to each VMI, from its "applying" log lines. */
function operatorSteps(operator: OperatorProcess): Map<string, Partial<Record<Step, number>>> {
  const sent = new Map<string, Partial<Record<Step, number>>>();
  for (const line of operator.logs) {
    const action = line.action as Step;
    if (line.msg !== 'applying' || !STEPS.includes(action) || !line.ts) continue;
    const vmi = String(line.key)
      .split('/')[1]!
      .replace(/^evac-/, '');
    const times = sent.get(vmi) ?? {};
    times[action] ??= Date.parse(line.ts);
    sent.set(vmi, times);
  }
  return sent;
}

function stepSummaries(sent: Map<string, Partial<Record<Step, number>>>, t0: number) {
  const steps: Partial<Record<Step, Summary>> = {};
  for (const step of STEPS) {
    const values = [...sent.values()].flatMap((t) => (t[step] === undefined ? [] : [t[step] - t0]));
    if (values.length > 0) steps[step] = summarize(values);
  }
  return steps;
}

async function stopOperator(operator: OperatorProcess): Promise<void> {
  operator.kill('SIGTERM');
  const timer = setTimeout(() => operator.kill('SIGKILL'), 15_000);
  await operator.exited;
  clearTimeout(timer);
}

async function deleteNamespaceAndWait(namespace: string): Promise<void> {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await eventually(
    `namespace ${namespace} gone`,
    async () => {
      try {
        await core.readNamespace({ name: namespace });
        return undefined;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return true;
        throw error;
      }
    },
    300_000,
    1000,
  ).catch((error: Error) => log(`warning: ${error.message}; going on`));
}

export async function runRound(options: RoundOptions): Promise<RoundResult> {
  const { size, mode } = options;
  const [source, ...others] = await bedNodes();
  if (source === undefined || others.length === 0) throw new Error('bench: the bed needs at least 2 nodes');
  const setupSeconds: Record<string, number> = {};
  const namespace = await createNamespace(`bench-${mode}-${size}`);
  let operator: OperatorProcess | undefined;
  let floor: Floor | undefined;
  let timeline: VmiTimeline | undefined;
  let failed = false;
  let tainted = false;
  try {
    let t = performance.now();
    await packVmis(namespace, size, source, others);
    setupSeconds.vmisRunning = elapsed(t);
    const vmis = await listVmis(namespace);
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'kubevirt.io=virt-launcher' }))
      .items;
    const podsOf = (uid: string) =>
      pods
        .filter((p) => p.metadata?.labels?.['kubevirt.io/created-by'] === uid)
        .map((p) => p.metadata!.name!);
    const originals = new Map(vmis.map((v) => [v.metadata.name, v.metadata.uid]));
    log(`${mode} ${size}: ${size} VMIs Running on ${source} after ${setupSeconds.vmisRunning} s`);

    if (mode === 'operator') {
      t = performance.now();
      operator = await startOperator(`bench-${size}`, [
        `--workers=${options.workers}`,
        `--log-level=${options.operatorLogLevel}`,
        // The operator's default, not the 5 s the e2e specs use: polling load as users run it.
        `--recheck-period=${DEFAULT_CONFIG.recheckSeconds}s`,
      ]);
      setupSeconds.operatorStarted = elapsed(t);
    }
    t = performance.now();
    failed = true;
    await failNode(source);
    await waitNotReady(source);
    setupSeconds.nodeNotReady = elapsed(t);
    if (mode === 'operator') {
      t = performance.now();
      await pool(vmis, 10, (v) =>
        createEvacuation(namespace, `evac-${v.metadata.name}`, { vmiName: v.metadata.name, reason: 'bench' }),
      );
      await waitAllInPhase(namespace, size, 'Fencing');
      setupSeconds.evacuationsFencing = elapsed(t);
    } else {
      floor = new Floor(rest, namespace);
      await floor.prepare(kc);
    }
    timeline = new VmiTimeline(originals);
    await timeline.start(kc, rest, namespace);
    log(`${mode} ${size}: ${source} NotReady; fencing it now`);

    const t0 = performance.now();
    const t0Wall = Date.now();
    tainted = true;
    await addTaint(source, outOfServiceTaint);
    const floorDone = floor?.evacuate(
      vmis.map((v): FloorVmi => ({ vmi: v, launcherPods: podsOf(v.metadata.uid) })),
      source,
    );
    await Promise.all([timeline.allRunning(options.timeoutMs), floorDone]);
    const replacements = [...timeline.replacements.values()];
    const createdMs = replacements.map((r) => Math.round(r.seenAt - t0));
    const runningMs = replacements.map((r) => Math.round(r.runningAt! - t0));
    const targets: Record<string, number> = {};
    for (const r of replacements) targets[r.nodeName ?? '?'] = (targets[r.nodeName ?? '?'] ?? 0) + 1;
    if (targets[source])
      throw new Error(`bench: ${targets[source]} replacements ran on the fenced ${source}`);
    const result: RoundResult = {
      size,
      mode,
      createdMs,
      runningMs,
      created: summarize(createdMs),
      running: summarize(runningMs),
      setupSeconds,
      targets,
      steps: stepSummaries(operator ? operatorSteps(operator) : floor!.sent, t0Wall),
      ...(operator ? { operator: await operatorStats(operator, namespace) } : {}),
      ...(floor ? { floorRequests: floor.requests } : {}),
    };
    log(
      `${mode} ${size}: all Running; median to created ${result.created.median} ms, to Running ` +
        `${result.running.median} ms, last ${result.running.max} ms`,
    );
    return result;
  } catch (error) {
    if (operator) console.error(operator.tail(40));
    throw error;
  } finally {
    timeline?.stop();
    floor?.stop();
    if (operator) {
      await stopOperator(operator);
      if (options.operatorLogDir) {
        mkdirSync(options.operatorLogDir, { recursive: true });
        const file = join(options.operatorLogDir, `operator-${size}.log`);
        writeFileSync(
          file,
          [...operator.logs.map((l) => JSON.stringify(l)), ...operator.rawOutput].join('\n'),
        );
        log(`operator log: ${file}`);
      }
    }
    if (tainted) await removeTaint(source, outOfServiceTaint.key);
    if (failed) await recoverNode(source);
    await deleteNamespaceAndWait(namespace);
  }
}

/** What the report says about the bed it ran on. */
export async function serverVersion(): Promise<string> {
  const version = await rest.request<{ gitVersion?: string }>(HttpMethod.GET, '/version');
  return version.gitVersion ?? 'unknown';
}
