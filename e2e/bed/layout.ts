// Where the bed keeps its state, and the fixed addresses and ports of its components. Docs, the
// Makefile and other tools rely on these names: .bed/kubeconfig, .bed/bin, .bed/logs.
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const bedDir = process.env.BED_DIR ?? join(repoRoot, '.bed');

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

const portBase = Number(process.env.BED_PORT_BASE ?? 36300);

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
  namespace: 'evacuator-bed',
  hostSideLink: 'evbed0',
  peerSideLink: 'evbed1',
  hostAddress: process.env.BED_HOST_ADDRESS ?? '10.213.0.1',
  peerAddress: process.env.BED_PEER_ADDRESS ?? '10.213.0.2',
  prefixLength: 30,
};

export const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
export const virtApiUrl = `https://${hostNetwork.hostAddress}:${ports.virtApi}`;

/** The node names the bed gives, in order: bed-node-1, bed-node-2, ... */
export function nodeName(index: number): string {
  return `bed-node-${index + 1}`;
}
