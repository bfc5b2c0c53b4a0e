// The API resources the evacuation controller watches and changes.
import { GROUP, PLURAL, KIND, VERSION } from '../api/v1alpha1/constants.ts';
import type { ResourceDescriptor } from '../runtime/resource.ts';

export const resources = {
  evacuations: { group: GROUP, version: VERSION, plural: PLURAL, kind: KIND, namespaced: true },
  vmis: {
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachineinstances',
    kind: 'VirtualMachineInstance',
    namespaced: true,
  },
  vms: {
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachines',
    kind: 'VirtualMachine',
    namespaced: true,
  },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  pvcs: {
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    namespaced: true,
  },
  volumeAttachments: {
    group: 'storage.k8s.io',
    version: 'v1',
    plural: 'volumeattachments',
    kind: 'VolumeAttachment',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceDescriptor>;

/** KubeVirt's subresource API, what `virtctl start` calls. */
export function vmStartPath(namespace: string, name: string): string {
  return `/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachines/${encodeURIComponent(name)}/start`;
}
