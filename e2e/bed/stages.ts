// KWOK stages: what plays each node's kubelet and virt-handler's node agent, and the storage
// backend's provisioner and attacher. Each node has a kwok process of its own, so killing it makes
// that node behave like a dead machine: no heartbeats, no pod handling, no VMI status updates.
import { dump } from 'js-yaml';

export const storageClassName = 'bed-standard';
export const csiDriverName = 'bed.csi.evacuator.dev';
const attacherFinalizer = 'external-attacher/bed-csi-evacuator-dev';

/** KubeVirt's typed client writes times in whole seconds; virt-controller's JSON patches test them. */
const nowSeconds = '{{ $now := dateInZone "2006-01-02T15:04:05Z" (now) "UTC" }}';

interface Stage {
  apiVersion: 'kwok.x-k8s.io/v1alpha1';
  kind: 'Stage';
  metadata: { name: string };
  spec: Record<string, unknown>;
}

function stage(name: string, spec: Record<string, unknown>): Stage {
  return { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Stage', metadata: { name }, spec };
}

const notDeleted = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };
const deleted = { key: '.metadata.deletionTimestamp', operator: 'Exists' };
const nodeReady = '.status.conditions.[] | select( .type == "Ready" ) | .status';

function nodeStages(node: string): Stage[] {
  return [
    stage('node-initialize', {
      resourceRef: { apiGroup: 'v1', kind: 'Node' },
      selector: { matchExpressions: [{ key: nodeReady, operator: 'NotIn', values: ['True'] }] },
      next: {
        statusTemplate: `{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
addresses:
- address: {{ NodeIP | Quote }}
  type: InternalIP
- address: {{ NodeName | Quote }}
  type: Hostname
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: bed-kwok
  containerRuntimeVersion: bed-kwok
  kernelVersion: bed-kwok
  kubeProxyVersion: bed-kwok
  osImage: bed
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
`,
      },
    }),
    // virt-handler's heartbeat: KubeVirt's node controller fails VMIs of nodes whose annotation is
    // stale, and virt-handler marks its node schedulable again on every beat.
    stage('kubevirt-heartbeat-first', {
      resourceRef: { apiGroup: 'v1', kind: 'Node' },
      selector: {
        matchExpressions: [
          { key: nodeReady, operator: 'In', values: ['True'] },
          { key: '.metadata.annotations["kubevirt.io/heartbeat"]', operator: 'DoesNotExist' },
        ],
      },
      next: { patches: [heartbeatPatch()] },
    }),
    stage('kubevirt-heartbeat', {
      resourceRef: { apiGroup: 'v1', kind: 'Node' },
      selector: {
        matchExpressions: [
          { key: nodeReady, operator: 'In', values: ['True'] },
          { key: '.metadata.annotations["kubevirt.io/heartbeat"]', operator: 'Exists' },
        ],
      },
      delay: { durationMilliseconds: 30_000, jitterDurationMilliseconds: 35_000 },
      next: { patches: [heartbeatPatch()] },
    }),
    stage('pod-ready', {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [notDeleted, { key: '.status.phase', operator: 'In', values: ['Pending'] }],
      },
      next: {
        statusTemplate: `{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: ContainersReady
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: PodScheduled
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  {{ if eq .restartPolicy "Always" }}
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
  {{ else }}
  state:
    terminated:
      exitCode: 0
      finishedAt: {{ $now | Quote }}
      reason: Completed
      startedAt: {{ $now | Quote }}
  {{ end }}
{{ end }}
{{ with NodeIPsWith .spec.nodeName }}
hostIP: {{ index . 0 | Quote }}
{{ end }}
{{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
`,
      },
    }),
    // The kubelet finishes a deletion once the containers stopped; a dead kubelet never does.
    stage('pod-delete', {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions: [deleted] },
      next: { finalizers: { empty: true }, delete: true },
    }),
    // virt-handler's part: the domain started, so the Scheduled VMI on this node is Running, with
    // every interface of its spec reported (the spec's MAC, else a stable one made from the UID).
    stage('vmi-running', {
      resourceRef: { apiGroup: 'kubevirt.io/v1', kind: 'VirtualMachineInstance' },
      selector: {
        matchExpressions: [
          notDeleted,
          { key: '.status.phase', operator: 'In', values: ['Scheduled'] },
          { key: '.status.nodeName', operator: 'In', values: [node] },
        ],
      },
      next: {
        statusTemplate: `${nowSeconds}
phase: Running
conditions:
{{- range .status.conditions }}{{ if ne .type "Ready" }}
- {{ toJson . }}{{ end }}{{ end }}
- type: Ready
  status: "True"
  lastProbeTime: {{ $now | quote }}
  lastTransitionTime: {{ $now | quote }}
phaseTransitionTimestamps:
{{- range .status.phaseTransitionTimestamps }}
- {{ toJson . }}{{ end }}
- phase: Running
  phaseTransitionTimestamp: {{ $now | quote }}
{{- $uid := .metadata.uid }}
interfaces:
{{- range $index, $iface := .spec.domain.devices.interfaces }}
{{- $hash := sha256sum (printf "%s/%s" $uid $iface.name) }}
- name: {{ $iface.name | quote }}
  interfaceName: {{ printf "eth%d" $index | quote }}
  mac: {{ or $iface.macAddress (printf "02:%s:%s:%s:%s:%s" (substr 0 2 $hash) (substr 2 4 $hash) (substr 4 6 $hash) (substr 6 8 $hash) (substr 8 10 $hash)) | quote }}
  infoSource: domain
  queueCount: 1
{{- end }}
`,
        // KubeVirt's VMI CRD has no status subresource: status is written through the object.
        statusSubresource: '',
        statusPatchAs: { username: 'system:serviceaccount:kubevirt:kubevirt-handler' },
      },
    }),
  ];

  function heartbeatPatch() {
    return {
      root: 'metadata',
      template: `${nowSeconds}
annotations:
  kubevirt.io/heartbeat: {{ $now | quote }}
labels:
  kubevirt.io/schedulable: "true"
`,
    };
  }
}

/** The storage backend's external provisioner and attacher: control-plane services, never a node. */
function storageStages(): Stage[] {
  return [
    stage('pvc-provision', {
      resourceRef: { apiGroup: 'v1', kind: 'PersistentVolumeClaim' },
      selector: {
        matchExpressions: [
          notDeleted,
          { key: '.spec.storageClassName', operator: 'In', values: [storageClassName] },
          { key: '.spec.volumeName', operator: 'DoesNotExist' },
        ],
      },
      steps: [
        {
          apply: {
            template: `apiVersion: v1
kind: PersistentVolume
metadata:
  name: pvc-{{ .metadata.uid }}
  annotations:
    pv.kubernetes.io/provisioned-by: ${csiDriverName}
spec:
  accessModes:
  {{- range .spec.accessModes }}
  - {{ . | quote }}{{ end }}
  capacity:
    storage: {{ .spec.resources.requests.storage | quote }}
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ${storageClassName}
  volumeMode: {{ default "Filesystem" .spec.volumeMode | quote }}
  claimRef:
    apiVersion: v1
    kind: PersistentVolumeClaim
    name: {{ .metadata.name | quote }}
    namespace: {{ .metadata.namespace | quote }}
    uid: {{ .metadata.uid | quote }}
  csi:
    driver: ${csiDriverName}
    volumeHandle: pvc-{{ .metadata.uid }}
`,
          },
        },
      ],
    }),
    // A released PV of ours goes with its claim (reclaim policy Delete).
    stage('pv-delete', {
      resourceRef: { apiGroup: 'v1', kind: 'PersistentVolume' },
      selector: {
        matchExpressions: [
          { key: '.status.phase', operator: 'In', values: ['Released'] },
          { key: '.spec.csi.driver', operator: 'In', values: [csiDriverName] },
        ],
      },
      next: { finalizers: { empty: true }, delete: true },
    }),
    stage('volume-attach', {
      resourceRef: { apiGroup: 'storage.k8s.io/v1', kind: 'VolumeAttachment' },
      selector: {
        matchExpressions: [
          notDeleted,
          { key: '.spec.attacher', operator: 'In', values: [csiDriverName] },
          { key: '.status.attached', operator: 'NotIn', values: ['true'] },
        ],
      },
      next: {
        finalizers: { add: [{ value: attacherFinalizer }] },
        statusTemplate: 'attached: true\n',
        statusSubresource: 'status',
      },
    }),
    stage('volume-detach', {
      resourceRef: { apiGroup: 'storage.k8s.io/v1', kind: 'VolumeAttachment' },
      selector: {
        matchExpressions: [deleted, { key: '.spec.attacher', operator: 'In', values: [csiDriverName] }],
      },
      next: { finalizers: { remove: [{ value: attacherFinalizer }] } },
    }),
  ];
}

export function nodeKwokConfig(node: string): string {
  return nodeStages(node)
    .map((s) => '---\n' + dump(s, { lineWidth: -1 }))
    .join('');
}

export function storageKwokConfig(): string {
  return storageStages()
    .map((s) => '---\n' + dump(s, { lineWidth: -1 }))
    .join('');
}
