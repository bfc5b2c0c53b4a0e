// Where the bed keeps its state, and the fixed addresses and ports of its components. Docs, the
// Makefile and other tools rely on these names: .bed/kubeconfig, .bed/bin, .bed/logs.
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

/**
 * Several beds can run side by side on one machine (e.g. two developers' test runs): BED_ID=n
 * gives bed n its own folder, ports, veth pair and addresses. Bed 0 is the default.
 */
const bedId = Number(process.env.BED_ID ?? 0);
if (!Number.isInteger(bedId) || bedId < 0 || bedId > 20)
  throw new Error(`BED_ID must be a whole number from 0 to 20, got ${process.env.BED_ID}`);

export const bedDir = process.env.BED_DIR ?? join(repoRoot, bedId === 0 ? '.bed' : `.bed-${bedId}`);

export const paths = {
  bed: bedDir,
  bin: join(bedDir, 'bin'),
  logs: join(bedDir, 'logs'),
  pids: join(bedDir, 'pids'),
  pki: join(bedDir, 'pki'),
  etcdData: join(bedDir, 'etcd'),
  config: join(bedDir, 'config'),
  kubeconfig: join(bedDir, 'kubeconfig'),
  state: join(bedDir, 'state.json'),
  buildScript: join(repoRoot, 'e2e', 'bed', 'build.sh'),
  cache:
    process.env.EVACUATOR_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kubevirt-evacuator'),
};

// Below Linux's ephemeral range (32768-60999): an outgoing connection may hold a port there
// for a moment, and a component that cannot bind its port fails to start.
const portBase = Number(process.env.BED_PORT_BASE ?? 22300 + bedId * 200);

export const ports = {
  etcdClient: portBase + 79,
  etcdPeer: portBase + 80,
  apiserver: portBase + 43,
  controllerManager: portBase + 57,
  scheduler: portBase + 59,
  virtApi: portBase + 44,
  virtController: portBase + 45,
  /** kwok servers take consecutive ports from here, one per process. */
  kwokFirst: portBase + 100,
};

/**
 * virt-api must be reachable by the API server through a Service, and Endpoints reject loopback
 * addresses: the bed makes a veth pair with a private address of its own and virt-api listens there.
 */
export const hostNetwork = {
  namespace: `evacuator-bed-${bedId}`,
  hostSideLink: `evbed${bedId}a`,
  peerSideLink: `evbed${bedId}b`,
  hostAddress: `10.213.${bedId}.1`,
  peerAddress: `10.213.${bedId}.2`,
  prefixLength: 30,
};

export const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
export const virtApiUrl = `https://${hostNetwork.hostAddress}:${ports.virtApi}`;

/** The node names the bed gives, in order: bed-node-1, bed-node-2, ... */
export function nodeName(index: number): string {
  return `bed-node-${index + 1}`;
}
