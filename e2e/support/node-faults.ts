// Node states the evacuation specs put nodes in (failed, fenced, deleted, cordoned, labelled) and the one
// call that undoes all of them, so every spec leaves its nodes recovered, untainted and unannotated.
import { ANNOTATION_FENCED } from '../../src/api/v1alpha1/constants.ts';
import { HttpMethod, kubeRestClient } from '../../src/runtime/rest.ts';
import { core, eventually, kc, testCluster } from './kube.ts';
import { outOfServiceTaint, readyStatus, removeTaint, unreachableTaint } from './nodes.ts';

const rest = kubeRestClient(kc);

async function mergePatchNode(name: string, patch: Record<string, unknown>): Promise<void> {
  await rest.request(HttpMethod.PATCH, `/api/v1/nodes/${name}`, {
    body: patch,
    contentType: 'application/merge-patch+json',
  });
}

async function nodeExists(name: string): Promise<boolean> {
  return core.readNode({ name }).then(
    () => true,
    (error: { code?: number }) => {
      if (error.code === 404) return false;
      throw error;
    },
  );
}

/** The names of the Ready nodes. */
export async function readyNodes(): Promise<string[]> {
  return (await core.listNode()).items.filter((n) => readyStatus(n) === 'True').map((n) => n.metadata!.name!);
}

/** Kills the node (bed `fail-node`) and waits until the node lifecycle controller marks it not Ready. */
export async function failNodeAndWaitNotReady(name: string): Promise<void> {
  await testCluster.faults.failNode(name);
  await eventually(
    `${name} not Ready`,
    async () => (readyStatus(await core.readNode({ name })) !== 'True' ? true : undefined),
    120_000,
  );
}

/** `evacuator.dev/fenced=true` on the node: the admin confirms it is powered off (Nova's force-down). */
export const annotateFenced = (name: string) =>
  mergePatchNode(name, { metadata: { annotations: { [ANNOTATION_FENCED]: 'true' } } });

export const setNodeLabel = (name: string, key: string, value: string | null) =>
  mergePatchNode(name, { metadata: { labels: { [key]: value } } });

export const setUnschedulable = (name: string, unschedulable: boolean) =>
  mergePatchNode(name, { spec: { unschedulable: unschedulable ? true : null } });

export async function deleteNode(name: string): Promise<void> {
  await core.deleteNode({ name });
  await eventually(`Node ${name} gone`, async () => ((await nodeExists(name)) ? undefined : true), 30_000);
}

/** The taints the node lifecycle controller puts on a node that is not Ready, and removes once it is. */
const lifecycleTaints = [unreachableTaint, 'node.kubernetes.io/not-ready'];

/**
 * Undoes everything the specs do to a node: restarts it (re-creating a deleted Node), and removes the
 * out-of-service taint, the fenced annotation, the cordon and the given labels, and waits until the
 * node lifecycle controller has lifted its not-ready/unreachable taints. Safe on a healthy node.
 */
export async function restoreNode(name: string, labels: string[] = []): Promise<void> {
  if (await nodeExists(name)) {
    await mergePatchNode(name, {
      metadata: {
        annotations: { [ANNOTATION_FENCED]: null },
        labels: Object.fromEntries(labels.map((l) => [l, null])),
      },
      spec: { unschedulable: null },
    });
    await removeTaint(name, outOfServiceTaint.key);
  }
  await testCluster.faults.recoverNode(name);
  await eventually(
    `${name} to lose the node lifecycle controller's taints`,
    async () => {
      const taints = (await core.readNode({ name })).spec?.taints ?? [];
      return taints.some((t) => lifecycleTaints.includes(t.key)) ? undefined : true;
    },
    60_000,
  );
}
