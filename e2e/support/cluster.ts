// What an e2e spec may know of the cluster under test: a kubeconfig and a small fault interface.
// The local bed plugs in its CLI; a kind runner can plug in `docker stop` / `docker start`.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { paths, repoRoot } from '../bed/layout.ts';

export interface Faults {
  /** The machine dies: no kubelet, no node agent, no heartbeats; pods on it stop being handled. */
  failNode(node: string): Promise<void>;
  /** The machine comes back and its kubelet rejoins. */
  recoverNode(node: string): Promise<void>;
  /** The API server goes away and comes back; watches break. */
  restartApiServer(): Promise<void>;
  /** The component log files, for diagnosing a failed spec (empty where there are none). */
  componentLogs(): Record<string, string>;
}

export interface Cluster {
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  faults: Faults;
}

function bedCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(repoRoot, 'e2e', 'bed', 'cli.ts'), ...args], (error, _stdout, stderr) =>
      error ? reject(new Error(`bed ${args.join(' ')} failed: ${stderr.trim()}`)) : resolve(),
    );
  });
}

const bedFaults: Faults = {
  failNode: (node) => bedCli(['fail-node', node]),
  recoverNode: (node) => bedCli(['recover-node', node]),
  restartApiServer: () => bedCli(['restart', 'apiserver']),
  componentLogs: () =>
    Object.fromEntries(
      ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'virt-api', 'virt-controller'].map(
        (c) => [c, join(paths.logs, `${c}.log`)],
      ),
    ),
};

export function cluster(): Cluster {
  const target = process.env.E2E_CLUSTER ?? 'bed';
  if (target !== 'bed') throw new Error(`E2E_CLUSTER=${target}: only the local bed is wired up so far`);
  const kubeconfigPath = process.env.E2E_KUBECONFIG ?? paths.kubeconfig;
  return {
    kubeconfigPath,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    faults: bedFaults,
  };
}
