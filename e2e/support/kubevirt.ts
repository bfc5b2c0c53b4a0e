// Builders and readers for the KubeVirt objects the e2e specs make, with parameters that say what
// each spec cares about.
import type { KubernetesObject } from '@kubernetes/client-node';
import { core, eventually, objects, readOrUndefined } from './kube.ts';

export const containerDiskImage = 'quay.io/kubevirt/cirros-container-disk-demo:v1.8.0';

export interface VmiShape {
  /** A fixed MAC for the default (pod network) interface. */
  mac?: string;
  /** A PVC to attach as a second disk. */
  pvc?: string;
  /** A Multus NetworkAttachmentDefinition to attach as a second interface, with a fixed MAC. */
  multus?: { network: string; mac: string };
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
}

export interface Vmi extends KubernetesObject {
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    nodeName?: string;
    interfaces?: { name?: string; mac?: string }[];
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

export interface Vm extends KubernetesObject {
  spec: {
    runStrategy?: string;
    template: { metadata?: Record<string, unknown>; spec: Record<string, unknown> };
  };
  status?: {
    printableStatus?: string;
    ready?: boolean;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export function vmiSpec(shape: VmiShape = {}): Record<string, unknown> {
  const disks: object[] = [{ name: 'containerdisk', disk: { bus: 'virtio' } }];
  const volumes: object[] = [{ name: 'containerdisk', containerDisk: { image: containerDiskImage } }];
  const interfaces: object[] = [
    { name: 'default', masquerade: {}, ...(shape.mac ? { macAddress: shape.mac } : {}) },
  ];
  const networks: object[] = [{ name: 'default', pod: {} }];
  if (shape.pvc) {
    disks.push({ name: 'data', disk: { bus: 'virtio' } });
    volumes.push({ name: 'data', persistentVolumeClaim: { claimName: shape.pvc } });
  }
  if (shape.multus) {
    interfaces.push({ name: 'secondary', bridge: {}, macAddress: shape.multus.mac });
    networks.push({ name: 'secondary', multus: { networkName: shape.multus.network } });
  }
  return {
    domain: { devices: { disks, interfaces }, resources: { requests: { memory: '64Mi' } } },
    networks,
    volumes,
    terminationGracePeriodSeconds: 0,
    ...(shape.nodeSelector ? { nodeSelector: shape.nodeSelector } : {}),
  };
}

export function vmiManifest(namespace: string, name: string, shape: VmiShape = {}): Vmi {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace, labels: { app: name, ...shape.labels } },
    spec: vmiSpec(shape),
  };
}

export function vmManifest(namespace: string, name: string, runStrategy: string, shape: VmiShape = {}): Vm {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec: {
      runStrategy,
      template: { metadata: { labels: { app: name, ...shape.labels } }, spec: vmiSpec(shape) },
    },
  };
}

export function readVmi(namespace: string, name: string): Promise<Vmi | undefined> {
  return readOrUndefined<Vmi>({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace },
  } as Vmi);
}

export function readVm(namespace: string, name: string): Promise<Vm | undefined> {
  return readOrUndefined<Vm>({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
  } as Vm);
}

/** The MAC each interface reports in status.interfaces, by interface name. */
export function macsOf(vmi: Vmi | undefined): Record<string, string | undefined> {
  return Object.fromEntries((vmi?.status?.interfaces ?? []).map((i) => [i.name, i.mac]));
}

/** Waits for a Running VMI of that name, optionally a new one (another UID) or on another node. */
export function waitForRunningVmi(
  namespace: string,
  name: string,
  options: { notUid?: string; notNode?: string; timeoutMs?: number } = {},
): Promise<Vmi> {
  return eventually(
    `VMI ${namespace}/${name} Running${options.notUid ? ` with a UID other than ${options.notUid}` : ''}${options.notNode ? ` off ${options.notNode}` : ''}`,
    async () => {
      const vmi = await readVmi(namespace, name);
      if (vmi?.status?.phase !== 'Running') return undefined;
      if (options.notUid && vmi.metadata?.uid === options.notUid) return undefined;
      if (options.notNode && vmi.status.nodeName === options.notNode) return undefined;
      return vmi;
    },
    options.timeoutMs ?? 90_000,
  );
}

export async function launcherPods(namespace: string, vmiUid: string) {
  const pods = await core.listNamespacedPod({
    namespace,
    labelSelector: `kubevirt.io=virt-launcher,kubevirt.io/created-by=${vmiUid}`,
  });
  return pods.items;
}

export async function createNetworkAttachmentDefinition(namespace: string, name: string): Promise<void> {
  await objects.create({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace },
    spec: { config: JSON.stringify({ cniVersion: '0.3.1', name, type: 'bridge', bridge: 'br1' }) },
  } as KubernetesObject);
}

export async function createPvc(namespace: string, name: string, size = '1Gi'): Promise<void> {
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
    },
  });
}
