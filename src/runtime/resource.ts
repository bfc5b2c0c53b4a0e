/** Which API resource an informer, client or event refers to; works for core kinds and custom resources. */
export interface ResourceDescriptor {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(r: ResourceDescriptor): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The REST path of a collection (`namespace` only for namespaced resources) or of one object. */
export function resourcePath(r: ResourceDescriptor, namespace?: string, name?: string): string {
  let path = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${r.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  return path;
}

/** Descriptors of the built-in kinds the runtime itself uses. */
export const coreResources = {
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
} as const satisfies Record<string, ResourceDescriptor>;
