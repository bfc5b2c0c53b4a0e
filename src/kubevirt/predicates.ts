// Pure predicates over observed KubeVirt / Kubernetes objects.
import { ANNOTATION_FENCED, TAINT_OUT_OF_SERVICE } from '../api/v1alpha1/constants.ts';
import type {
  Disk,
  Node,
  Pod,
  Pvc,
  RunStrategy,
  Vm,
  Vmi,
  VmiSpec,
  Volume,
  VolumeAttachment,
} from './schemas.ts';

export const KUBEVIRT_GROUP = 'kubevirt.io';
export const LABEL_APP = 'kubevirt.io';
export const LAUNCHER_APP = 'virt-launcher';
export const LABEL_CREATED_BY = 'kubevirt.io/created-by';

// ---- nodes ----

export type NodeHealth = 'Ready' | 'NotReady' | 'Unknown' | 'Gone';

/** The node's Ready condition: Ready (True), NotReady (False), Unknown (Unknown or no condition), Gone. */
export function nodeHealth(node: Node | undefined): NodeHealth {
  if (node === undefined) return 'Gone';
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return 'Ready';
  if (ready?.status === 'False') return 'NotReady';
  return 'Unknown';
}

export const nodeReady = (node: Node | undefined): boolean => nodeHealth(node) === 'Ready';

/** When the Ready condition last changed (e.g. when a node rejoined), if known. */
export function readySince(node: Node | undefined): string | undefined {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
}

export const nodeSchedulable = (node: Node): boolean => node.spec?.unschedulable !== true;

export type FencedHow = 'NodeDeleted' | 'OutOfServiceTaint' | 'AdminAnnotation';
export type Fencing = { fenced: true; how: FencedHow } | { fenced: false; how: undefined };

/**
 * A node is fenced when it cannot be running the instance any more: the Node object is gone, it carries
 * the out-of-service taint (any value) with effect NoExecute, or an admin annotated it
 * `evacuator.dev/fenced=true` (Nova's force-down) while it is not Ready — a Ready node is plainly
 * alive, so an annotation left behind after it rejoined fences nothing. The first that applies, in
 * that order, is reported.
 */
export function isFenced(node: Node | undefined): Fencing {
  if (node === undefined) return { fenced: true, how: 'NodeDeleted' };
  if (node.spec?.taints?.some((t) => t.key === TAINT_OUT_OF_SERVICE && t.effect === 'NoExecute'))
    return { fenced: true, how: 'OutOfServiceTaint' };
  if (node.metadata.annotations?.[ANNOTATION_FENCED] === 'true' && nodeHealth(node) !== 'Ready')
    return { fenced: true, how: 'AdminAnnotation' };
  return { fenced: false, how: undefined };
}

// ---- VMIs and VMs ----

export interface VmOwnerRef {
  name: string;
  uid: string;
}

/** The VirtualMachine controlling this VMI (ownerReference kind VirtualMachine, controller=true). */
export function vmOwner(vmi: Pick<Vmi, 'metadata'>): VmOwnerRef | undefined {
  const ref = vmi.metadata.ownerReferences?.find(
    (o) =>
      o.kind === 'VirtualMachine' && o.controller === true && o.apiVersion.startsWith(`${KUBEVIRT_GROUP}/`),
  );
  return ref === undefined ? undefined : { name: ref.name, uid: ref.uid };
}

export const vmiIsFinal = (vmi: Vmi): boolean =>
  vmi.status?.phase === 'Failed' || vmi.status?.phase === 'Succeeded';
export const vmiIsRunning = (vmi: Vmi): boolean => vmi.status?.phase === 'Running';
export const isDeleting = (o: { metadata: { deletionTimestamp?: string | undefined } }): boolean =>
  o.metadata.deletionTimestamp !== undefined;

/** KubeVirt's VirtualMachine.RunStrategy(): runStrategy, else running true → Always, else Halted. */
export function vmRunStrategy(vm: Vm): RunStrategy | string {
  if (vm.spec.runStrategy !== undefined) return vm.spec.runStrategy;
  return vm.spec.running === true ? 'Always' : 'Halted';
}

/** The VMI's virt-launcher pods (labels kubevirt.io=virt-launcher, kubevirt.io/created-by=<vmi uid>). */
export function launcherPodsOf(vmiUid: string, pods: readonly Pod[]): Pod[] {
  return pods.filter(
    (p) =>
      p.metadata.labels?.[LABEL_APP] === LAUNCHER_APP && p.metadata.labels?.[LABEL_CREATED_BY] === vmiUid,
  );
}

export type DiskSource = 'containerDisk' | 'persistentVolumeClaim' | 'dataVolume' | 'other';

export interface BootDisk {
  disk: Disk;
  volume: Volume | undefined;
  source: DiskSource;
}

/**
 * The disk the guest boots from: the disk with the lowest bootOrder; without any bootOrder, the first
 * disk (libvirt's default, which KubeVirt keeps). Undefined when the VMI has no disk at all.
 */
export function bootDisk(spec: VmiSpec): BootDisk | undefined {
  const disks = spec.domain.devices?.disks ?? [];
  const ordered = disks.filter((d) => d.bootOrder !== undefined).sort((a, b) => a.bootOrder! - b.bootOrder!);
  const disk = ordered[0] ?? disks[0];
  if (disk === undefined) return undefined;
  const volume = spec.volumes?.find((v) => v.name === disk.name);
  const source: DiskSource = volume?.containerDisk
    ? 'containerDisk'
    : volume?.persistentVolumeClaim
      ? 'persistentVolumeClaim'
      : volume?.dataVolume
        ? 'dataVolume'
        : 'other';
  return { disk, volume, source };
}

/** Names of the PVCs the VMI uses (persistentVolumeClaim volumes, and DataVolumes: same-name PVC). */
export function claimNamesOf(spec: VmiSpec): string[] {
  const names = (spec.volumes ?? []).flatMap((v) => [
    ...(v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []),
    ...(v.dataVolume ? [v.dataVolume.name] : []),
  ]);
  return [...new Set(names)];
}

/** PV names bound to the given claims (PVC spec.volumeName). */
export function pvNamesOf(claimNames: readonly string[], pvcs: readonly Pvc[]): string[] {
  return pvcs
    .filter((p) => claimNames.includes(p.metadata.name) && p.spec?.volumeName)
    .map((p) => p.spec!.volumeName!);
}

/** VolumeAttachments of these PVs on this node. */
export function volumeAttachmentsOn(
  nodeName: string,
  pvNames: readonly string[],
  vas: readonly VolumeAttachment[],
): VolumeAttachment[] {
  return vas.filter(
    (va) =>
      va.spec.nodeName === nodeName &&
      va.spec.source.persistentVolumeName !== undefined &&
      pvNames.includes(va.spec.source.persistentVolumeName),
  );
}
