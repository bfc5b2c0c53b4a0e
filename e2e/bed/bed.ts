// The local test bed: real etcd, Kubernetes control plane and KubeVirt control plane on this
// machine, with KWOK playing the nodes. Every verb of the bed CLI is a function here.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import * as components from './components.ts';
import { eventually } from '../support/poll.ts';
import { applyServerSide, kubectl, kubectlJson } from './kubectl.ts';
import { apiserverUrl, nodeName, paths, ports, virtApiUrl } from './layout.ts';
import { baseManifests, kubevirtManifests, nodeManifest } from './manifests.ts';
import { ensureHostNetwork, removeHostNetwork } from './network.ts';
import { ensurePki, writeKubeconfig, type BedPki } from './pki.ts';
import { killStrays, knownComponents, runningPid, start, stop, type ComponentSpec } from './processes.ts';
import { nodeKwokConfig, storageKwokConfig } from './stages.ts';

interface BedState {
  nodes: string[];
  startedAt: string;
}

const log = (message: string) => console.error(`bed: ${message}`);

function readState(): BedState | undefined {
  if (!existsSync(paths.state)) return undefined;
  return JSON.parse(readFileSync(paths.state, 'utf8')) as BedState;
}

async function buildBinaries(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('bash', [paths.buildScript, paths.bin], (error) =>
      error ? reject(error) : resolve(),
    );
    child.stderr?.pipe(process.stderr);
  });
}

function writeKubeconfigs(pki: BedPki): void {
  mkdirSync(paths.config, { recursive: true });
  writeKubeconfig(paths.kubeconfig, apiserverUrl, pki.ca.cert, pki.admin, 'bed-admin');
  const identities: [string, keyof BedPki][] = [
    ['kube-controller-manager', 'controllerManager'],
    ['kube-scheduler', 'scheduler'],
    ['kubevirt-controller', 'virtController'],
    ['virt-api', 'admin'],
    ['kwok', 'admin'],
  ];
  for (const [name, identity] of identities) {
    writeKubeconfig(
      components.kubeconfigFor(name),
      apiserverUrl,
      pki.ca.cert,
      pki[identity] as { cert: string; key: string },
      name,
    );
  }
}

function kwokSpec(name: string, configFile: string, index: number, selectorArgs: string[]): ComponentSpec {
  return {
    name,
    command: join(paths.bin, 'kwok'),
    args: [
      `--kubeconfig=${components.kubeconfigFor('kwok')}`,
      `--config=${configFile}`,
      `--server-address=127.0.0.1:${ports.kwokFirst + index}`,
      `--node-lease-duration-seconds=${components.nodeLeaseSeconds}`,
      `--cidr=10.244.${index}.0/24`,
      `--node-ip=10.245.0.${index + 1}`,
      ...selectorArgs,
    ],
  };
}

function nodeKwok(node: string, index: number): ComponentSpec {
  const configFile = join(paths.config, `kwok-${node}.yaml`);
  writeFileSync(configFile, nodeKwokConfig(node));
  return kwokSpec(`kwok-${node}`, configFile, index + 1, [`--manage-single-node=${node}`]);
}

function storageKwok(): ComponentSpec {
  const configFile = join(paths.config, 'kwok-storage.yaml');
  writeFileSync(configFile, storageKwokConfig());
  return kwokSpec('kwok-storage', configFile, 0, [
    '--manage-nodes-with-label-selector=evacuator.dev/bed-manages-no-node=true',
  ]);
}

async function apiserverReady(): Promise<boolean | undefined> {
  const { stdout } = await kubectl(['get', '--raw', '/readyz']);
  return stdout.trim() === 'ok' ? true : undefined;
}

async function waitEstablished(crdNames: string[]): Promise<void> {
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crdNames.map((n) => `crd/${n}`)]);
}

export async function up(nodeCount: number): Promise<void> {
  const startedAt = Date.now();
  await buildBinaries();
  if (await healthy()) {
    log('already up');
    await ensureNodes(nodeCount);
    return;
  }
  if (knownComponents().length > 0 || existsSync(paths.etcdData)) {
    log('cleaning up what an earlier bed left behind');
    await down();
  }
  rmSync(paths.logs, { recursive: true, force: true });
  ensureHostNetwork();
  const pki = ensurePki();
  writeKubeconfigs(pki);

  start(components.etcd());
  start(components.kubeApiserver(pki));
  await eventually('kube-apiserver /readyz', apiserverReady, 60_000);
  log(`kube-apiserver ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  start(components.kubeControllerManager(pki));
  start(components.kubeScheduler());

  const bedgen = await new Promise<string>((resolve, reject) =>
    execFile(join(paths.bin, 'bedgen'), { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
  const kubevirt = kubevirtManifests(bedgen, pki);
  const crds = kubevirt.filter((m) => m.kind === 'CustomResourceDefinition');
  const base = baseManifests(pki);
  await applyServerSide(toYaml([...base, ...crds]));
  await waitEstablished(
    [...crds, ...base.filter((m) => m.kind === 'CustomResourceDefinition')].map(
      (m) => (m.metadata as { name: string }).name,
    ),
  );

  start(components.virtApi(pki));
  await eventually('virt-api to serve', () => virtApiServing(pki), 60_000);
  await applyServerSide(toYaml(kubevirt.filter((m) => m.kind !== 'CustomResourceDefinition')));
  start(components.virtController(pki));

  start(storageKwok());
  writeFileSync(
    paths.state,
    JSON.stringify({ nodes: [], startedAt: new Date().toISOString() } satisfies BedState),
  );
  await ensureNodes(nodeCount);
  await eventually('the virt-api APIService to be Available', apiServiceAvailable, 60_000);
  await eventually('virt-controller to hold its leader lease', virtControllerLeading, 120_000);
  log(
    `up with ${nodeCount} nodes in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; KUBECONFIG=${paths.kubeconfig}`,
  );
}

function toYaml(manifests: object[]): string {
  return manifests.map((m) => '---\n' + dump(m, { lineWidth: -1, noRefs: true })).join('');
}

/** virt-api answers HTTPS on its veth address (any HTTP status will do: it is up). */
function virtApiServing(pki: BedPki): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const request = httpsRequest(
      `${virtApiUrl}/apis/subresources.kubevirt.io/v1/healthz`,
      { ca: readFileSync(pki.ca.cert), timeout: 2000 },
      (response) => {
        response.resume();
        resolve(true);
      },
    );
    request.on('error', () => resolve(undefined));
    request.on('timeout', () => request.destroy());
    request.end();
  });
}

async function apiServiceAvailable(): Promise<boolean | undefined> {
  const service = await kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>([
    'get',
    'apiservice',
    'v1.subresources.kubevirt.io',
  ]);
  return service.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True')
    ? true
    : undefined;
}

async function virtControllerLeading(): Promise<boolean | undefined> {
  const lease = await kubectlJson<{ spec?: { holderIdentity?: string } }>([
    '-n',
    'kubevirt',
    'get',
    'lease',
    'virt-controller',
  ]);
  return lease.spec?.holderIdentity ? true : undefined;
}

async function ensureNodes(count: number): Promise<void> {
  const state = readState() ?? { nodes: [], startedAt: new Date().toISOString() };
  const wanted = Array.from({ length: Math.max(count, state.nodes.length) }, (_, i) => nodeName(i));
  const missing = wanted.filter((n) => !state.nodes.includes(n) || runningPid(`kwok-${n}`) === undefined);
  if (missing.length > 0) {
    await applyServerSide(toYaml(missing.map(nodeManifest)));
    for (const node of missing) start(nodeKwok(node, wanted.indexOf(node)));
  }
  writeFileSync(paths.state, JSON.stringify({ ...state, nodes: wanted } satisfies BedState));
  await eventually(
    `nodes ${wanted.join(', ')} to be Ready`,
    async () => ((await readyNodes()).length >= wanted.length ? true : undefined),
    90_000,
  );
}

export async function readyNodes(): Promise<string[]> {
  const list = await kubectlJson<{
    items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
  }>(['get', 'nodes']);
  return list.items
    .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((n) => n.metadata.name);
}

const controlPlane = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'virt-api',
  'virt-controller',
  'kwok-storage',
];

export async function healthy(): Promise<boolean> {
  if (!readState()) return false;
  if (controlPlane.some((name) => runningPid(name) === undefined)) return false;
  return (await apiserverReady().catch(() => undefined)) === true;
}

export async function down(): Promise<void> {
  // Node agents and anything else the bed runs (the demo's operator) first, the control plane last.
  const order = [
    ...knownComponents().filter((c) => !controlPlane.includes(c)),
    ...[...controlPlane].reverse(),
  ];
  for (const name of new Set(order)) await stop(name);
  const strays = await killStrays();
  if (strays > 0) log(`killed ${strays} stray processes of an earlier bed`);
  removeHostNetwork();
  for (const dir of [paths.etcdData, paths.pids, paths.config, paths.state])
    rmSync(dir, { recursive: true, force: true });
  log('down');
}

export async function status(): Promise<string> {
  const lines: string[] = [];
  const state = readState();
  lines.push(`bed: ${state ? `started ${state.startedAt}` : 'not up'} (${paths.bed})`);
  for (const name of [...controlPlane, ...(state?.nodes ?? []).map((n) => `kwok-${n}`)]) {
    const pid = runningPid(name);
    lines.push(`  ${name.padEnd(26)} ${pid === undefined ? 'stopped' : `running (pid ${pid})`}`);
  }
  if (state && runningPid('kube-apiserver') !== undefined) {
    const { stdout } = await kubectl(['get', 'nodes', '-o', 'wide']).catch((error: Error) => ({
      stdout: error.message,
    }));
    lines.push('', stdout.trimEnd());
  }
  lines.push('', `export KUBECONFIG=${paths.kubeconfig} PATH=${paths.bin}:$PATH`);
  return lines.join('\n');
}

function requireNode(node: string): BedState {
  const state = readState();
  if (!state) throw new Error('bed: not up (run `npm run bed -- up`)');
  if (!state.nodes.includes(node))
    throw new Error(`bed: no node ${node}; the bed has ${state.nodes.join(', ')}`);
  return state;
}

/** A dead machine: its kubelet and node agent stop at once, mid-flight. */
export async function failNode(node: string): Promise<void> {
  requireNode(node);
  await stop(`kwok-${node}`, 'SIGKILL');
  log(`${node} failed (its kwok was killed)`);
}

/** The machine boots again: its kubelet rejoins and finishes what it was asked to do while down. */
export async function recoverNode(node: string): Promise<void> {
  const state = requireNode(node);
  if (runningPid(`kwok-${node}`) !== undefined) return;
  // The dead kwok's lease would block the new one until it expires.
  await kubectl(['-n', 'kube-node-lease', 'delete', 'lease', node, '--ignore-not-found']);
  const nodeExists = await kubectl(['get', 'node', node]).then(
    () => true,
    () => false,
  );
  if (!nodeExists) await applyServerSide(toYaml([nodeManifest(node)]));
  start(nodeKwok(node, state.nodes.indexOf(node)));
  await eventually(
    `${node} to be Ready`,
    async () => ((await readyNodes()).includes(node) ? true : undefined),
    90_000,
  );
  log(`${node} recovered`);
}

export async function restartApiserver(): Promise<void> {
  const pki = ensurePki();
  await stop('kube-apiserver');
  start(components.kubeApiserver(pki));
  await eventually('kube-apiserver /readyz', apiserverReady, 60_000);
  log('kube-apiserver restarted');
}
