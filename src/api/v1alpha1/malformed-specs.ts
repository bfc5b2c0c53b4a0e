// Specs the API server must refuse at admission, with a message naming the field. The unit tests check
// each against the zod schema and the generated CRD schema; the e2e suite applies each to a real API
// server (create, expect 422 and `expectFieldInMessage` in the message).

export interface MalformedSpec {
  name: string;
  spec: Record<string, unknown>;
  expectFieldInMessage: string;
}

const ok = { vmiName: 'vm-1' };

export const malformedSpecs: MalformedSpec[] = [
  { name: 'vmiName missing', spec: { reason: 'x' }, expectFieldInMessage: 'spec.vmiName' },
  { name: 'vmiName empty', spec: { vmiName: '' }, expectFieldInMessage: 'spec.vmiName' },
  {
    name: 'vmiName not a DNS-1123 subdomain',
    spec: { vmiName: 'My_VM' },
    expectFieldInMessage: 'spec.vmiName',
  },
  {
    name: 'vmiName longer than 253',
    spec: { vmiName: 'a'.repeat(254) },
    expectFieldInMessage: 'spec.vmiName',
  },
  {
    name: 'targetNode not a node name',
    spec: { ...ok, targetNode: 'node_1' },
    expectFieldInMessage: 'spec.targetNode',
  },
  { name: 'flavor with neither form', spec: { ...ok, flavor: {} }, expectFieldInMessage: 'spec.flavor' },
  {
    name: 'flavor with both forms',
    spec: {
      ...ok,
      flavor: {
        memory: '4Gi',
        instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.large' },
      },
    },
    expectFieldInMessage: 'spec.flavor',
  },
  {
    name: 'flavor preference without instancetype',
    spec: {
      ...ok,
      flavor: { memory: '4Gi', preference: { kind: 'VirtualMachinePreference', name: 'fedora' } },
    },
    expectFieldInMessage: 'spec.flavor.preference',
  },
  {
    name: 'cpu with no field',
    spec: { ...ok, flavor: { cpu: {} } },
    expectFieldInMessage: 'spec.flavor.cpu',
  },
  {
    name: 'cpu cores 0',
    spec: { ...ok, flavor: { cpu: { cores: 0 } } },
    expectFieldInMessage: 'spec.flavor.cpu.cores',
  },
  {
    name: 'cpu sockets above the bound',
    spec: { ...ok, flavor: { cpu: { sockets: 1000 } } },
    expectFieldInMessage: 'spec.flavor.cpu.sockets',
  },
  {
    name: 'cpu threads not an integer',
    spec: { ...ok, flavor: { cpu: { threads: 1.5 } } },
    expectFieldInMessage: 'spec.flavor.cpu.threads',
  },
  {
    name: 'memory zero',
    spec: { ...ok, flavor: { memory: '0Gi' } },
    expectFieldInMessage: 'spec.flavor.memory',
  },
  {
    name: 'memory negative',
    spec: { ...ok, flavor: { memory: '-1Gi' } },
    expectFieldInMessage: 'spec.flavor.memory',
  },
  {
    name: 'memory not a quantity',
    spec: { ...ok, flavor: { memory: 'lots' } },
    expectFieldInMessage: 'spec.flavor.memory',
  },
  {
    name: 'instancetype of an unknown kind',
    spec: { ...ok, flavor: { instancetype: { kind: 'Flavor', name: 'm1.small' } } },
    expectFieldInMessage: 'spec.flavor.instancetype.kind',
  },
  {
    name: 'instancetype without a name',
    spec: { ...ok, flavor: { instancetype: { kind: 'VirtualMachineInstancetype' } } },
    expectFieldInMessage: 'spec.flavor.instancetype.name',
  },
  {
    name: 'image with an upper-case path',
    spec: { ...ok, image: 'quay.io/Containerdisks/Fedora:41' },
    expectFieldInMessage: 'spec.image',
  },
  {
    name: 'image with two tags',
    spec: { ...ok, image: 'fedora:41:extra' },
    expectFieldInMessage: 'spec.image',
  },
  { name: 'image empty', spec: { ...ok, image: '' }, expectFieldInMessage: 'spec.image' },
  {
    name: 'allowLiveSource not a boolean',
    spec: { ...ok, allowLiveSource: 'yes' },
    expectFieldInMessage: 'spec.allowLiveSource',
  },
  { name: 'reason too long', spec: { ...ok, reason: 'x'.repeat(1025) }, expectFieldInMessage: 'spec.reason' },
];

/** Updates the API server must refuse (create `initial`, then update the spec to `update`). */
export const immutableSpecUpdates: {
  name: string;
  initial: Record<string, unknown>;
  update: Record<string, unknown>;
  expectFieldInMessage: string;
}[] = [
  { name: 'vmiName changed', initial: ok, update: { vmiName: 'vm-2' }, expectFieldInMessage: 'spec.vmiName' },
  {
    name: 'targetNode added',
    initial: ok,
    update: { ...ok, targetNode: 'node-b' },
    expectFieldInMessage: 'spec.targetNode',
  },
  {
    name: 'flavor changed',
    initial: { ...ok, flavor: { memory: '4Gi' } },
    update: { ...ok, flavor: { memory: '8Gi' } },
    expectFieldInMessage: 'spec.flavor',
  },
  {
    name: 'image removed',
    initial: { ...ok, image: 'quay.io/containerdisks/fedora:41' },
    update: ok,
    expectFieldInMessage: 'spec.image',
  },
  {
    name: 'allowLiveSource flipped',
    initial: { ...ok, allowLiveSource: false },
    update: { ...ok, allowLiveSource: true },
    expectFieldInMessage: 'spec.allowLiveSource',
  },
];

/** Updates the API server must accept. */
export const allowedSpecUpdates: {
  name: string;
  initial: Record<string, unknown>;
  update: Record<string, unknown>;
}[] = [
  {
    name: 'reason changed',
    initial: { ...ok, reason: 'node-3 lost power' },
    update: { ...ok, reason: 'PSU failure' },
  },
];
