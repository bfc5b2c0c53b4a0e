// Names shared by the API, the decision core, the controller and the e2e suite: one file, no literals
// elsewhere (kubebuilder keeps them beside the types; NHC `api/v1alpha1`).

export const GROUP = 'evacuator.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'InstanceEvacuation';
export const LIST_KIND = 'InstanceEvacuationList';
export const PLURAL = 'instanceevacuations';
export const SINGULAR = 'instanceevacuation';
export const SHORT_NAMES = ['ievac', 'evac'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Label on a rebuilt standalone VMI: the UID of the instance it was rebuilt from. */
export const LABEL_ORIGINAL_UID = `${GROUP}/original-uid`;
/** Label on a rebuilt standalone VMI: the evacuation that rebuilt it. */
export const LABEL_EVACUATION = `${GROUP}/evacuation`;
/**
 * Annotation an admin puts on a Node (value "true") to confirm it is powered off or isolated: Nova's
 * `force-down`. With it, a NotReady node counts as fenced.
 */
export const ANNOTATION_FENCED = `${GROUP}/fenced`;

/** Kubernetes' non-graceful node shutdown taint: any value, effect NoExecute. */
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

/** Phases, in order; Failed is the other exit. Nova: accepted → pre-migrating → done → completed / error. */
export const Phase = {
  Pending: 'Pending',
  Fencing: 'Fencing',
  Terminating: 'Terminating',
  Rebuilding: 'Rebuilding',
  Rebuilt: 'Rebuilt',
  Completed: 'Completed',
  Failed: 'Failed',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];
export const PHASES = Object.values(Phase) as [Phase, ...Phase[]];
export const TERMINAL_PHASES: readonly Phase[] = [Phase.Completed, Phase.Failed];

export const ConditionType = {
  Accepted: 'Accepted',
  SourceFenced: 'SourceFenced',
  SourceTerminated: 'SourceTerminated',
  Rebuilt: 'Rebuilt',
  SourceCleaned: 'SourceCleaned',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Condition reasons (CamelCase, as metav1.Condition requires). Each names what happened or what is awaited. */
export const Reason = {
  // Accepted
  Accepted: 'Accepted',
  VmiNotFound: 'VmiNotFound',
  VmiNotScheduled: 'VmiNotScheduled',
  /** A retry: the old instance was already fenced and destroyed by a failed evacuation. */
  RetryFromSnapshot: 'RetryFromSnapshot',
  /** A VMI KubeVirt made from the VM before the evacuation's changes reached its template. */
  StaleVmi: 'StaleVmi',
  VmNotFound: 'VmNotFound',
  DuplicateEvacuation: 'DuplicateEvacuation',
  SourceNodeHealthy: 'SourceNodeHealthy',
  SourceNodeRecovered: 'SourceNodeRecovered',
  TargetNodeNotFound: 'TargetNodeNotFound',
  TargetNodeNotReady: 'TargetNodeNotReady',
  TargetNodeUnschedulable: 'TargetNodeUnschedulable',
  TargetNodeIsSource: 'TargetNodeIsSource',
  BootDiskNotContainerDisk: 'BootDiskNotContainerDisk',
  FlavorUnsupported: 'FlavorUnsupported',
  RunStrategyUnsupported: 'RunStrategyUnsupported',
  // SourceFenced
  AwaitingFencing: 'AwaitingFencing',
  FencedByTaint: 'FencedByTaint',
  FencedByAnnotation: 'FencedByAnnotation',
  NodeDeleted: 'NodeDeleted',
  FencingNotRequired: 'FencingNotRequired',
  // SourceTerminated
  AwaitingVmPatch: 'AwaitingVmPatch',
  AwaitingGracefulShutdown: 'AwaitingGracefulShutdown',
  AwaitingLauncherPodDeletion: 'AwaitingLauncherPodDeletion',
  AwaitingVolumeDetach: 'AwaitingVolumeDetach',
  AwaitingVmiFailure: 'AwaitingVmiFailure',
  Terminated: 'Terminated',
  // Rebuilt
  AwaitingOldVmiRemoval: 'AwaitingOldVmiRemoval',
  AwaitingNewVmi: 'AwaitingNewVmi',
  AwaitingScheduling: 'AwaitingScheduling',
  AwaitingSteeringRemoval: 'AwaitingSteeringRemoval',
  AwaitingRunning: 'AwaitingRunning',
  RebuildTimeout: 'RebuildTimeout',
  VmiNameTaken: 'VmiNameTaken',
  VmGone: 'VmGone',
  RebuiltRunning: 'RebuiltRunning',
  RebuiltStopped: 'RebuiltStopped',
  // SourceCleaned
  AwaitingSourceNode: 'AwaitingSourceNode',
  AwaitingKubeletCleanup: 'AwaitingKubeletCleanup',
  ForcingCleanup: 'ForcingCleanup',
  Cleaned: 'Cleaned',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Event reasons (one file, NHC `utils/events.go`). */
export const EventReason = {
  Accepted: 'EvacuationAccepted',
  Refused: 'EvacuationRefused',
  SnapshotPersisted: 'SnapshotPersisted',
  AwaitingFencing: 'AwaitingFencing',
  SourceFenced: 'SourceFenced',
  TerminatingSource: 'TerminatingSource',
  SourceTerminated: 'SourceTerminated',
  Rebuilding: 'Rebuilding',
  Rebuilt: 'Rebuilt',
  Completed: 'EvacuationCompleted',
  Failed: 'EvacuationFailed',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/**
 * Finalizer held only by an evacuation of a VM-owned VMI, from just before it first steers the VM
 * (node affinity on spec.template) until that steering is gone again, so that deleting the evacuation
 * mid-flight never leaves a VM pinned to a node. Standalone evacuations never carry it.
 */
export const FINALIZER_STEERING = `${GROUP}/vm-steering`;
/**
 * Finalizer on a standalone evacuation while its snapshot is the only copy of the instance (the old
 * VMI deleted, the new one not yet created): deleting the evacuation then waits for the rebuild.
 */
export const FINALIZER_SNAPSHOT = `${GROUP}/snapshot`;
