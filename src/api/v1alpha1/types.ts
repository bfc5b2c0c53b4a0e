// The InstanceEvacuation API: zod schemas are the one source of truth. The parsers below check what the
// API server checks (OpenAPI keywords + the CEL rules carried in `.meta()`), and `crd.ts` turns the same
// schemas into the CRD's openAPIV3Schema. A rule that zod cannot express (CEL transition rules on
// updates) lives only in `.meta()`; a check that JSON Schema cannot express (cross-field) lives in both
// a zod refinement and a CEL rule next to it.
import { z } from 'zod';
import {
  ObjectMetaSchema,
  OwnerReferenceSchema as LooseOwnerReferenceSchema,
  StringMapSchema,
} from '../meta.ts';
import { PHASES } from './constants.ts';

/** Kubernetes' DNS-1123 subdomain (object and node names). */
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A resource.Quantity without sign (apimachinery's pattern minus the leading sign). */
export const QUANTITY =
  '^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
/**
 * A container image reference: [registry[:port]/]path[:tag][@sha256:digest], path lower case
 * (distribution/reference's grammar, RE2-compatible so that the API server can run it too).
 */
export const IMAGE_REFERENCE =
  '^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?' +
  '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*' +
  '(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';

export const MAX_CPU_TOPOLOGY = 512;
export const MAX_REASON_LENGTH = 1024;
export const MAX_IMAGE_LENGTH = 512;

const rule = (rule: string, message: string, fieldPath?: string) =>
  fieldPath === undefined ? { rule, message } : { rule, message, fieldPath };
const validations = (...rules: ReturnType<typeof rule>[]) => ({ 'x-kubernetes-validations': rules });

const subdomain = (what: string) =>
  z.string().min(1).max(253).regex(new RegExp(DNS1123_SUBDOMAIN), `${what} must be a DNS-1123 subdomain`);

/** True when `q` is a syntactically valid Quantity whose value is > 0 (the CEL rule's twin). */
export function isPositiveQuantity(q: string): boolean {
  if (!new RegExp(QUANTITY).test(q)) return false;
  const m = /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))/.exec(q);
  return m !== null && Number(m[0]) > 0;
}

const cpuCount = (field: string) =>
  z
    .int()
    .min(1, `spec.flavor.cpu.${field} must be >= 1`)
    .max(MAX_CPU_TOPOLOGY, `spec.flavor.cpu.${field} must be <= ${MAX_CPU_TOPOLOGY}`)
    .optional();

export const CpuTopologySchema = z
  .object({
    cores: cpuCount('cores'),
    sockets: cpuCount('sockets'),
    threads: cpuCount('threads'),
  })
  .refine((c) => c.cores !== undefined || c.sockets !== undefined || c.threads !== undefined, {
    message: 'spec.flavor.cpu must set at least one of cores, sockets, threads',
  })
  .meta({
    description: 'Guest CPU topology; fields left out keep the instance’s current values.',
    minProperties: 1,
  });

export const InstancetypeRefSchema = z
  .object({
    kind: z.enum(['VirtualMachineInstancetype', 'VirtualMachineClusterInstancetype']),
    name: subdomain('spec.flavor.instancetype.name'),
  })
  .meta({ description: 'An instancetype to apply to the VirtualMachine (VM-owned instances only).' });

export const PreferenceRefSchema = z
  .object({
    kind: z.enum(['VirtualMachinePreference', 'VirtualMachineClusterPreference']),
    name: subdomain('spec.flavor.preference.name'),
  })
  .meta({ description: 'A preference to apply together with spec.flavor.instancetype.' });

const FLAVOR_ONE_FORM =
  'spec.flavor: set exactly one form: cpu and/or memory, or instancetype (with an optional preference)';
const FLAVOR_PREFERENCE = 'spec.flavor.preference requires spec.flavor.instancetype';
const MEMORY_MESSAGE = 'spec.flavor.memory must be a quantity greater than 0, e.g. 4Gi';

export const FlavorSchema = z
  .object({
    cpu: CpuTopologySchema.optional(),
    memory: z
      .string()
      .max(32)
      .regex(new RegExp(QUANTITY), MEMORY_MESSAGE)
      .refine(isPositiveQuantity, MEMORY_MESSAGE)
      .meta({
        description: 'Guest memory (spec.domain.memory.guest), a quantity > 0 such as 4Gi.',
        ...validations(
          rule("isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))", MEMORY_MESSAGE),
        ),
      })
      .optional(),
    instancetype: InstancetypeRefSchema.optional(),
    preference: PreferenceRefSchema.optional(),
  })
  .superRefine((f, ctx) => {
    const explicit = f.cpu !== undefined || f.memory !== undefined;
    if (explicit === (f.instancetype !== undefined))
      ctx.addIssue({ code: 'custom', message: FLAVOR_ONE_FORM });
    if (f.preference !== undefined && f.instancetype === undefined)
      ctx.addIssue({ code: 'custom', message: FLAVOR_PREFERENCE, path: ['preference'] });
  })
  .meta({
    description:
      'New flavor for the rebuilt instance: explicit CPU topology and/or memory, or an instancetype ' +
      'reference (mutually exclusive).',
    ...validations(
      rule('has(self.instancetype) != (has(self.cpu) || has(self.memory))', FLAVOR_ONE_FORM),
      rule('!has(self.preference) || has(self.instancetype)', FLAVOR_PREFERENCE),
    ),
  });

const IMAGE_MESSAGE = 'spec.image must be a container image reference such as quay.io/org/disk:tag';
const REASON_MESSAGE = `spec.reason must be at most ${MAX_REASON_LENGTH} characters`;

/** `has(a) == has(b) && (!has(a) || a == b)` for an optional spec field, with a message naming it. */
const optionalImmutable = (field: string) =>
  rule(
    `has(self.${field}) == has(oldSelf.${field}) && (!has(self.${field}) || self.${field} == oldSelf.${field})`,
    `spec.${field} is immutable: delete this evacuation and create a new one`,
    `.${field}`,
  );

export const InstanceEvacuationSpecSchema = z
  .object({
    vmiName: subdomain('spec.vmiName').meta({
      description: 'Name of the VirtualMachineInstance to evacuate, in this namespace. Immutable.',
      ...validations(rule('self == oldSelf', 'spec.vmiName is immutable')),
    }),
    targetNode: subdomain('spec.targetNode')
      .meta({
        description:
          'Node to rebuild on (Nova’s host): must exist, be Ready and schedulable, and not be the source. ' +
          'The scheduler still enforces the instance’s own constraints. Default: the scheduler picks.',
      })
      .optional(),
    flavor: FlavorSchema.optional(),
    image: z
      .string()
      .min(1)
      .max(MAX_IMAGE_LENGTH)
      .regex(new RegExp(IMAGE_REFERENCE), IMAGE_MESSAGE)
      .meta({
        description: 'New containerDisk image for the boot disk (refused when it is not a containerDisk).',
      })
      .optional(),
    allowLiveSource: z.boolean().default(false).meta({
      description: 'Rebuild even when the source node is healthy, terminating the instance gracefully.',
    }),
    reason: z
      .string()
      .max(MAX_REASON_LENGTH, REASON_MESSAGE)
      .meta({
        description: 'Free text for people: why this evacuation was requested. The only mutable field.',
      })
      .optional(),
  })
  .meta({
    description:
      'What to evacuate and how. Immutable once created except spec.reason: to change anything else, ' +
      'delete the evacuation and create a new one.',
    ...validations(
      optionalImmutable('targetNode'),
      optionalImmutable('flavor'),
      optionalImmutable('image'),
      optionalImmutable('allowLiveSource'),
    ),
  });

export type InstanceEvacuationSpec = z.infer<typeof InstanceEvacuationSpecSchema>;
export type InstanceEvacuationSpecInput = z.input<typeof InstanceEvacuationSpecSchema>;
export type Flavor = z.infer<typeof FlavorSchema>;
export type CpuTopology = z.infer<typeof CpuTopologySchema>;

const time = z.iso.datetime();

export const ConditionSchema = z.object({
  type: z
    .string()
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    ),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: time,
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof ConditionSchema>;

/** An owner reference as the snapshot keeps it: the fields meta.ts reads, and no others. */
export const OwnerReferenceSchema = z.object(LooseOwnerReferenceSchema.shape);
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

/** Everything needed to rebuild the instance, persisted before anything is destroyed. */
export const InstanceSnapshotSchema = z
  .object({
    capturedAt: time,
    nodeName: z.string().describe('status.nodeName of the instance when captured: the source node.'),
    metadata: z.object({
      name: z.string(),
      namespace: z.string(),
      uid: z.string(),
      labels: StringMapSchema.optional(),
      annotations: StringMapSchema.optional(),
      ownerReferences: z.array(OwnerReferenceSchema).optional(),
    }),
    spec: z.record(z.string(), z.unknown()).meta({
      description: 'The VirtualMachineInstance spec as it was, verbatim.',
      'x-kubernetes-preserve-unknown-fields': true,
    }),
    interfaces: z
      .array(z.object({ name: z.string(), mac: z.string().optional() }))
      .optional()
      .describe('MAC addresses from status.interfaces, by interface name.'),
  })
  .meta({ description: 'The original instance, as observed before anything was destroyed.' });
export type InstanceSnapshot = z.infer<typeof InstanceSnapshotSchema>;

export const PhaseSchema = z.enum(PHASES);

export const SteeringSchema = z
  .object({
    operator: z.enum(['In', 'NotIn']),
    node: z.string(),
  })
  .meta({
    description:
      'Node affinity (matchFields metadata.name) this evacuation adds to the VirtualMachine’s template ' +
      'to steer the new instance; removed once the new instance is scheduled.',
  });
export type Steering = z.infer<typeof SteeringSchema>;

export const PhaseTimestampsSchema = z
  .object(
    Object.fromEntries(PHASES.map((p) => [p, time.optional()])) as Record<
      (typeof PHASES)[number],
      z.ZodOptional<typeof time>
    >,
  )
  .meta({ description: 'When each phase began.' });
export type PhaseTimestamps = z.infer<typeof PhaseTimestampsSchema>;

export const InstanceEvacuationStatusSchema = z.object({
  phase: PhaseSchema.optional(),
  observedGeneration: z.int().min(0).optional(),
  conditions: z
    .array(ConditionSchema)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .optional(),
  sourceNode: z.string().optional(),
  targetNode: z.string().optional().describe('The requested target, or where the rebuilt instance runs.'),
  originalUID: z.string().optional(),
  newUID: z.string().optional(),
  vmOwned: z.boolean().optional(),
  vmPreparedGeneration: z
    .int()
    .optional()
    .describe(
      'The VirtualMachine generation first seen carrying the overrides, pinned MACs and steering: a VMI KubeVirt made from an older one is stale and is replaced.',
    ),
  liveSource: z
    .boolean()
    .optional()
    .describe(
      'The source was Ready and spec.allowLiveSource set: the instance is shut down gracefully; nothing is forced unless the node is fenced.',
    ),
  vmName: z.string().optional(),
  vmUID: z.string().optional(),
  runStrategy: z.string().optional(),
  steering: SteeringSchema.optional(),
  startRequestedAt: time
    .optional()
    .describe(
      'When the VirtualMachine start subresource was last called (Manual/RerunOnFailure), to call it once.',
    ),
  phaseTimestamps: PhaseTimestampsSchema.optional(),
  snapshot: InstanceSnapshotSchema.optional(),
});
export type InstanceEvacuationStatus = z.infer<typeof InstanceEvacuationStatusSchema>;

export const InstanceEvacuationSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMetaSchema,
  spec: InstanceEvacuationSpecSchema,
  status: InstanceEvacuationStatusSchema.optional(),
});
export type InstanceEvacuation = z.infer<typeof InstanceEvacuationSchema>;
