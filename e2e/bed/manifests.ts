// The objects a fresh bed starts with, besides KubeVirt's own CRDs and webhooks (made by bedgen):
// KubeVirt's namespace, identities and RBAC, virt-api's Service, the node agents' DaemonSet,
// storage, Multus' CRD and the nodes themselves.
import { readFileSync } from 'node:fs';
import { loadAll } from 'js-yaml';
import type { BedPki } from './pki.ts';
import { hostNetwork, ports, virtApiUrl } from './layout.ts';
import { csiDriverName, storageClassName } from './stages.ts';

type Manifest = Record<string, unknown> & { kind: string };

export function baseManifests(pki: BedPki): Manifest[] {
  const caBundle = readFileSync(pki.ca.cert, 'utf8');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubevirt' } },
    ...['kubevirt-controller', 'kubevirt-handler', 'kubevirt-apiserver'].map((name) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: 'kubevirt' },
    })),
    // The bed grants KubeVirt's accounts cluster-admin rather than reproducing virt-operator's
    // fine-grained roles; what matters to the operator under test is who they are, not what else
    // they may do (see e2e/README.md).
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'bed-kubevirt-components' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: ['kubevirt-controller', 'kubevirt-handler', 'kubevirt-apiserver'].map((name) => ({
        kind: 'ServiceAccount',
        name,
        namespace: 'kubevirt',
      })),
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kubevirt-ca', namespace: 'kubevirt' },
      data: { 'ca-bundle': caBundle },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'virt-api', namespace: 'kubevirt', labels: { 'kubevirt.io': 'virt-api' } },
      spec: { ports: [{ name: 'https', port: 443, targetPort: ports.virtApi, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'virt-api-bed',
        namespace: 'kubevirt',
        labels: { 'kubernetes.io/service-name': 'virt-api', 'endpointslice.kubernetes.io/managed-by': 'bed' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [hostNetwork.hostAddress], conditions: { ready: true } }],
      ports: [{ name: 'https', port: ports.virtApi, protocol: 'TCP' }],
    },
    // KubeVirt's node controller needs exactly one virt-handler DaemonSet (or a handler pod on the
    // node) before it acts on a node's stale heartbeat.
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'virt-handler', namespace: 'kubevirt', labels: { 'kubevirt.io': 'virt-handler' } },
      spec: {
        selector: { matchLabels: { 'kubevirt.io': 'virt-handler' } },
        template: {
          metadata: { labels: { 'kubevirt.io': 'virt-handler' } },
          spec: {
            serviceAccountName: 'kubevirt-handler',
            automountServiceAccountToken: false,
            containers: [{ name: 'virt-handler', image: 'quay.io/kubevirt/virt-handler:v1.8.0' }],
          },
        },
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: csiDriverName },
      spec: { attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: storageClassName,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: csiDriverName,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    },
    multusCrd(),
  ];
}

function multusCrd(): Manifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'network-attachment-definitions.k8s.cni.cncf.io' },
    spec: {
      group: 'k8s.cni.cncf.io',
      scope: 'Namespaced',
      names: {
        plural: 'network-attachment-definitions',
        singular: 'network-attachment-definition',
        kind: 'NetworkAttachmentDefinition',
        shortNames: ['net-attach-def'],
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { type: 'object', properties: { config: { type: 'string' } } },
              },
            },
          },
        },
      ],
    },
  };
}

export function nodeManifest(name: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
        'evacuator.dev/bed-node': 'true',
        // What virt-handler's node labeller would set.
        'kubevirt.io/schedulable': 'true',
        'machine-type.node.kubevirt.io/q35': 'true',
        'cpu-model.node.kubevirt.io/Haswell-noTSX': 'true',
        'cpu-vendor.node.kubevirt.io/Intel': 'true',
        'host-model-cpu.node.kubevirt.io/Haswell-noTSX': 'true',
        'kubevirt.io/ksm-enabled': 'false',
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'kwok.x-k8s.io/node': 'fake',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {},
    status: {
      allocatable: nodeResources(),
      capacity: nodeResources(),
    },
  };
}

function nodeResources(): Record<string, string> {
  return {
    cpu: '32',
    memory: '128Gi',
    pods: '110',
    'ephemeral-storage': '200Gi',
    'devices.kubevirt.io/kvm': '1k',
    'devices.kubevirt.io/tun': '1k',
    'devices.kubevirt.io/vhost-net': '1k',
  };
}

/**
 * KubeVirt's own webhook configurations and APIServices (from bedgen), pointed at the bed's virt-api:
 * webhooks by URL, the APIService through the selector-less Service above.
 */
export function kubevirtManifests(bedgenOutput: string, pki: BedPki): Manifest[] {
  const caBundle = Buffer.from(readFileSync(pki.ca.cert)).toString('base64');
  const manifests = loadAll(bedgenOutput).filter((m): m is Manifest => typeof m === 'object' && m !== null);
  for (const manifest of manifests) {
    if (
      manifest.kind === 'MutatingWebhookConfiguration' ||
      manifest.kind === 'ValidatingWebhookConfiguration'
    ) {
      const webhooks = manifest.webhooks as {
        clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
      }[];
      for (const webhook of webhooks) {
        const path = webhook.clientConfig.service?.path ?? '/';
        webhook.clientConfig = { url: `${virtApiUrl}${path}`, caBundle };
      }
    }
    if (manifest.kind === 'APIService') {
      const spec = manifest.spec as Record<string, unknown>;
      spec.caBundle = caBundle;
      delete spec.insecureSkipTLSVerify;
      (spec.service as Record<string, unknown>).port = 443;
    }
    delete (manifest as { status?: unknown }).status;
  }
  return manifests;
}
