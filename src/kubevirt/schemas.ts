// zod schemas for the parts of KubeVirt and Kubernetes objects the evacuator reads. Every object is a
// `looseObject`: fields not named here pass through untouched (a VMI spec is rebuilt from what was
// read, so nothing may be dropped). Field names follow kubevirt.io/api core/v1 types.go (v1.8.0).
import { z } from 'zod';
import { ObjectMetaSchema, StringMapSchema } from '../api/meta.ts';

// ---- KubeVirt VirtualMachineInstance ----

export const DiskSchema = z.looseObject({
  name: z.string(),
  bootOrder: z.number().optional(),
  disk: z.looseObject({}).optional(),
  cdrom: z.looseObject({}).optional(),
  lun: z.looseObject({}).optional(),
});
export type Disk = z.infer<typeof DiskSchema>;

export const InterfaceSchema = z.looseObject({ name: z.string(), macAddress: z.string().optional() });

export const VolumeSchema = z.looseObject({
  name: z.string(),
  containerDisk: z.looseObject({ image: z.string() }).optional(),
  persistentVolumeClaim: z.looseObject({ claimName: z.string() }).optional(),
  dataVolume: z.looseObject({ name: z.string() }).optional(),
});
export type Volume = z.infer<typeof VolumeSchema>;

export const NetworkSchema = z.looseObject({
  name: z.string(),
  pod: z.looseObject({}).optional(),
  multus: z.looseObject({ networkName: z.string() }).optional(),
});

export const VmiSpecSchema = z.looseObject({
  domain: z.looseObject({
    devices: z
      .looseObject({
        disks: z.array(DiskSchema).optional(),
        interfaces: z.array(InterfaceSchema).optional(),
      })
      .optional(),
    cpu: z
      .looseObject({
        cores: z.number().optional(),
        sockets: z.number().optional(),
        threads: z.number().optional(),
      })
      .optional(),
    memory: z.looseObject({ guest: z.string().optional() }).optional(),
    resources: z.looseObject({}).optional(),
    firmware: z.looseObject({ uuid: z.string().optional(), serial: z.string().optional() }).optional(),
  }),
  volumes: z.array(VolumeSchema).optional(),
  networks: z.array(NetworkSchema).optional(),
  nodeSelector: StringMapSchema.optional(),
  affinity: z.looseObject({}).optional(),
  tolerations: z.array(z.looseObject({})).optional(),
});
export type VmiSpec = z.infer<typeof VmiSpecSchema>;

export const VmiPhaseSchema = z.string(); // Pending, Scheduling, Scheduled, Running, Succeeded, Failed, Unknown, ""

export const VmiSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
  spec: VmiSpecSchema,
  status: z
    .looseObject({
      phase: VmiPhaseSchema.optional(),
      nodeName: z.string().optional(),
      reason: z.string().optional(),
      interfaces: z
        .array(z.looseObject({ name: z.string().optional(), mac: z.string().optional() }))
        .optional(),
    })
    .optional(),
});
export type Vmi = z.infer<typeof VmiSchema>;

// ---- KubeVirt VirtualMachine ----

export const RUN_STRATEGIES = [
  'Always',
  'RerunOnFailure',
  'Manual',
  'Halted',
  'Once',
  'WaitAsReceiver',
] as const;
export type RunStrategy = (typeof RUN_STRATEGIES)[number];

export const VmSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
  spec: z.looseObject({
    running: z.boolean().optional(),
    runStrategy: z.string().optional(),
    instancetype: z.looseObject({ name: z.string(), kind: z.string().optional() }).optional(),
    preference: z.looseObject({ name: z.string(), kind: z.string().optional() }).optional(),
    template: z.looseObject({
      metadata: z.looseObject({}).optional(),
      spec: VmiSpecSchema,
    }),
  }),
  status: z.looseObject({}).optional(),
});
export type Vm = z.infer<typeof VmSchema>;

// ---- Kubernetes core ----

export const TaintSchema = z.looseObject({
  key: z.string(),
  value: z.string().optional(),
  effect: z.string(),
});

export const NodeSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z
    .looseObject({ unschedulable: z.boolean().optional(), taints: z.array(TaintSchema).optional() })
    .optional(),
  status: z
    .looseObject({
      conditions: z
        .array(
          z.looseObject({
            type: z.string(),
            status: z.string(),
            reason: z.string().optional(),
            lastTransitionTime: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type Node = z.infer<typeof NodeSchema>;

export const NamespaceSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  status: z.looseObject({ phase: z.string().optional() }).optional(),
});
export type Namespace = z.infer<typeof NamespaceSchema>;

export const PodSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({ nodeName: z.string().optional() }).optional(),
  status: z.looseObject({ phase: z.string().optional() }).optional(),
});
export type Pod = z.infer<typeof PodSchema>;

export const PvcSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({ volumeName: z.string().optional() }).optional(),
});
export type Pvc = z.infer<typeof PvcSchema>;

export const PvSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({
    claimRef: z.looseObject({ name: z.string(), namespace: z.string().optional() }).optional(),
  }),
});
export type Pv = z.infer<typeof PvSchema>;

export const VolumeAttachmentSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({
    attacher: z.string(),
    nodeName: z.string(),
    source: z.looseObject({ persistentVolumeName: z.string().optional() }),
  }),
  status: z.looseObject({ attached: z.boolean().optional() }).optional(),
});
export type VolumeAttachment = z.infer<typeof VolumeAttachmentSchema>;
