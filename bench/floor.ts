// The floor: the same end state as an evacuation of standalone VMIs from a fenced node, reached by a
// script issuing the minimal raw API calls directly, with no operator, no snapshot persisted, no
// status, no events and no checks. Per VMI, all VMIs at once:
//   1. DELETE each launcher pod, gracePeriodSeconds=0 (the node is fenced: nothing will confirm it)
//   2. DELETE the VMI (precondition: its UID); virt-controller sees the pod gone and lets it go
//   3. wait for the VMI's DELETED watch event (the name is free again)
//   4. POST the replacement: the very manifest the operator would build (same name, labels,
//      annotations, spec, MACs pinned, source node excluded), so only the API calls differ.
// The script is told the moment the node is fenced (it does the tainting), whereas the operator has
// to notice the taint through its watch: that is part of what the ratio measures.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { buildRebuiltVmi } from '../src/evacuation/rebuild-vmi.ts';
import { takeSnapshot } from '../src/evacuation/snapshot.ts';
import { VmiSchema } from '../src/kubevirt/schemas.ts';
import { isNotFound } from '../src/runtime/errors.ts';
import { HttpMethod, type RestClient } from '../src/runtime/rest.ts';

export interface FloorVmi {
  /** The VMI as read before the node failed (its status has the node and the MACs). */
  vmi: Record<string, unknown> & { metadata: { name: string; uid: string } };
  /** Its launcher pods' names, as listed before the node failed. */
  launcherPods: string[];
}

interface WatchedVmi {
  metadata?: { uid?: string };
}

/** Watches the namespace's VMIs for deletions, so step 3 waits on an event, not a poll. */
class DeletionWatch {
  readonly #deleted = new Set<string>();
  readonly #waiters = new Map<string, () => void>();
  #abort: AbortController | undefined;
  #stopped = false;

  async start(kc: KubeConfig, rest: RestClient, namespace: string): Promise<void> {
    const path = `/apis/kubevirt.io/v1/namespaces/${namespace}/virtualmachineinstances`;
    const list = await rest.request<{ metadata: { resourceVersion: string } }>(HttpMethod.GET, path, {
      query: { limit: 1 },
    });
    this.#abort = await new Watch(kc).watch(
      path,
      { resourceVersion: list.metadata.resourceVersion },
      (type, object: WatchedVmi) => {
        const uid = object.metadata?.uid;
        if (type !== 'DELETED' || !uid) return;
        this.#deleted.add(uid);
        this.#waiters.get(uid)?.();
      },
      (err) => {
        if (!this.#stopped) console.error(`floor: the VMI watch ended: ${String(err)}`);
      },
    );
  }

  gone(uid: string): Promise<void> {
    if (this.#deleted.has(uid)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.set(uid, resolve));
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

/** The requests whose send times the benchmark compares with the operator's. */
export type Step = 'DeletePod' | 'DeleteVmi' | 'CreateVmi';

const ignoreNotFound = (error: unknown) => {
  if (!isNotFound(error)) throw error;
};

export class Floor {
  readonly #rest: RestClient;
  readonly #namespace: string;
  readonly #watch = new DeletionWatch();
  /** API requests the floor made, for the report. */
  requests = 0;
  /** Date.now() when each step's request was sent, per VMI name (the first of each). */
  readonly sent = new Map<string, Partial<Record<Step, number>>>();

  constructor(rest: RestClient, namespace: string) {
    this.#rest = rest;
    this.#namespace = namespace;
  }

  /** Before the clock starts: the deletion watch is open. */
  async prepare(kc: KubeConfig): Promise<void> {
    await this.#watch.start(kc, this.#rest, this.#namespace);
  }

  /** Evacuates every VMI at once; resolves when every replacement was created. */
  async evacuate(vmis: readonly FloorVmi[], sourceNode: string): Promise<void> {
    await Promise.all(vmis.map((v) => this.#evacuateOne(v, sourceNode)));
  }

  async #evacuateOne({ vmi, launcherPods }: FloorVmi, sourceNode: string): Promise<void> {
    const ns = this.#namespace;
    const { name, uid } = vmi.metadata;
    const replacement = buildRebuiltVmi(
      takeSnapshot(VmiSchema.parse(vmi), new Date()),
      { vmiName: name, allowLiveSource: false },
      sourceNode,
    );
    if (!replacement.ok) throw new Error(`floor: cannot rebuild ${name}: ${replacement.message}`);
    const gone = this.#watch.gone(uid);
    await Promise.all(
      launcherPods.map((pod) =>
        this.#call(name, 'DeletePod', HttpMethod.DELETE, `/api/v1/namespaces/${ns}/pods/${pod}`, {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
        }).catch(ignoreNotFound),
      ),
    );
    await this.#call(
      name,
      'DeleteVmi',
      HttpMethod.DELETE,
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`,
      {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
      },
    ).catch(ignoreNotFound);
    await gone;
    await this.#call(
      name,
      'CreateVmi',
      HttpMethod.POST,
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`,
      {
        body: replacement.value,
      },
    );
  }

  #call(
    vmi: string,
    step: Step,
    method: HttpMethod,
    path: string,
    options: { body: unknown },
  ): Promise<unknown> {
    this.requests++;
    const sent = this.sent.get(vmi) ?? {};
    sent[step] ??= Date.now();
    this.sent.set(vmi, sent);
    return this.#rest.request(method, path, options);
  }

  stop(): void {
    this.#watch.stop();
  }
}
