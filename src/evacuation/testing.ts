// Builders for unit tests of the evacuation core: parameters state intent (NHC's newNodes style).
import { API_VERSION, KIND } from '../api/v1alpha1/constants.ts';
import type {
  InstanceEvacuation,
  InstanceEvacuationSpecInput,
  InstanceEvacuationStatus,
} from '../api/v1alpha1/types.ts';
import { InstanceEvacuationSpecSchema } from '../api/v1alpha1/types.ts';
import type { Node, Pod, Vm, Vmi, VmiSpec, VolumeAttachment } from '../kubevirt/schemas.ts';
import type { Observed } from './observed.ts';

export const NS = 'tenant';
export const SOURCE = 'node-a';
export const OTHER = 'node-b';
export const OLD_UID = 'uid-old';
export const NEW_UID = 'uid-new';
export const VM_UID = 'uid-vm';

export type Health = 'Ready' | 'NotReady' | 'Unknown' | 'Gone';
export type Fence = 'taint' | 'annotation' | 'none';

export function node(
  name: string,
  health: Exclude<Health, 'Gone'>,
  opts: { fence?: Fence; unschedulable?: boolean; readySince?: string } = {},
): Node {
  const status = { Ready: 'True', NotReady: 'False', Unknown: 'Unknown' }[health];
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      ...(opts.fence === 'annotation' ? { annotations: { 'evacuator.dev/fenced': 'true' } } : {}),
    },
    spec: {
      ...(opts.unschedulable ? { unschedulable: true } : {}),
      ...(opts.fence === 'taint'
        ? {
            taints: [
              { key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' },
            ],
          }
        : {}),
    },
    status: {
      conditions: [{ type: 'Ready', status, lastTransitionTime: opts.readySince ?? '2026-11-26T10:00:00Z' }],
    },
  };
}

export const sourceNode = (health: Health, fence: Fence = 'none'): Node | undefined =>
  health === 'Gone' ? undefined : node(SOURCE, health, { fence });

export function vmiSpec(): VmiSpec {
  return {
    domain: {
      cpu: { cores: 2, sockets: 1, threads: 1 },
      memory: { guest: '2Gi' },
      resources: { requests: { memory: '2Gi' } },
      firmware: { uuid: '5d307ca9-b3ef-428c-8861-06e72d69f223', serial: 'serial-1' },
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'virtio' } },
          { name: 'data', disk: { bus: 'virtio' } },
        ],
        interfaces: [
          { name: 'default', masquerade: {} },
          { name: 'tenant-net', bridge: {} },
        ],
      },
    },
    volumes: [
      { name: 'root', containerDisk: { image: 'quay.io/containerdisks/fedora:40' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data-pvc' } },
    ],
    networks: [
      { name: 'default', pod: {} },
      { name: 'tenant-net', multus: { networkName: 'tenant/vlan-10' } },
    ],
    nodeSelector: { 'kubernetes.io/arch': 'amd64' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'vms', effect: 'NoSchedule' }],
  };
}

export function vmi(opts: {
  uid?: string;
  nodeName?: string | undefined;
  phase?: string;
  owned?: boolean;
  deleting?: boolean;
  labels?: Record<string, string>;
  spec?: VmiSpec;
}): Vmi {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name: 'vm-1',
      namespace: NS,
      uid: opts.uid ?? OLD_UID,
      resourceVersion: '100',
      generation: 3,
      creationTimestamp: '2026-11-26T09:00:00Z',
      labels: { app: 'web', 'kubevirt.io/nodeName': opts.nodeName ?? SOURCE, ...opts.labels },
      annotations: {
        owner: 'team-a',
        'kubevirt.io/latest-observed-api-version': 'v1',
        'kubevirt.io/allow-pod-bridge-network-live-migration': 'true',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
      },
      finalizers: ['kubevirt.io/foregroundDeleteVirtualMachine'],
      ...(opts.owned
        ? {
            ownerReferences: [
              {
                apiVersion: 'kubevirt.io/v1',
                kind: 'VirtualMachine',
                name: 'vm-1',
                uid: VM_UID,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
      ...(opts.deleting ? { deletionTimestamp: '2026-11-26T11:00:00Z' } : {}),
    },
    spec: opts.spec ?? vmiSpec(),
    status: {
      phase: opts.phase ?? 'Running',
      ...(opts.nodeName === undefined && 'nodeName' in opts ? {} : { nodeName: opts.nodeName ?? SOURCE }),
      interfaces: [
        { name: 'default', mac: '02:00:00:00:00:01' },
        { name: 'tenant-net', mac: '02:00:00:00:00:02' },
      ],
    },
  };
}

export function vm(runStrategy: string, opts: { template?: VmiSpec; instancetype?: string } = {}): Vm {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm-1', namespace: NS, uid: VM_UID, generation: 7, resourceVersion: '70' },
    spec: {
      runStrategy,
      ...(opts.instancetype
        ? { instancetype: { kind: 'VirtualMachineClusterInstancetype', name: opts.instancetype } }
        : {}),
      template: { metadata: { labels: { app: 'web' } }, spec: opts.template ?? vmiSpec() },
    },
  };
}

export function launcherPod(vmiUid: string, opts: { deleting?: boolean; name?: string } = {}): Pod {
  return {
    metadata: {
      name: opts.name ?? `virt-launcher-vm-1-${vmiUid}`,
      namespace: NS,
      uid: `pod-${vmiUid}`,
      labels: { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/created-by': vmiUid },
      ...(opts.deleting ? { deletionTimestamp: '2026-11-26T11:00:00Z' } : {}),
    },
    spec: { nodeName: SOURCE },
    status: { phase: 'Running' },
  };
}

export const pvc = { metadata: { name: 'data-pvc', namespace: NS }, spec: { volumeName: 'pv-data' } };

export function volumeAttachment(nodeName = SOURCE): VolumeAttachment {
  return {
    metadata: { name: `csi-${nodeName}-pv-data`, uid: `va-${nodeName}` },
    spec: { attacher: 'csi.example.com', nodeName, source: { persistentVolumeName: 'pv-data' } },
    status: { attached: true },
  };
}

export function evacuation(
  spec: Partial<InstanceEvacuationSpecInput> = {},
  status?: InstanceEvacuationStatus,
  meta: Partial<InstanceEvacuation['metadata']> = {},
): InstanceEvacuation {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: 'evac-1',
      namespace: NS,
      uid: 'uid-evac-1',
      generation: 1,
      creationTimestamp: '2026-11-26T10:05:00Z',
      ...meta,
    },
    spec: InstanceEvacuationSpecSchema.parse({ vmiName: 'vm-1', ...spec }),
    ...(status ? { status } : {}),
  };
}

export function observed(o: Partial<Observed> & Pick<Observed, 'evacuation'>): Observed {
  return {
    siblings: [],
    vmi: undefined,
    vm: undefined,
    sourceNode: node(SOURCE, 'Unknown'),
    targetNode: undefined,
    launcherPods: [],
    pvcs: [pvc],
    volumeAttachments: [],
    namespaceDeleting: false,
    ...o,
  };
}
