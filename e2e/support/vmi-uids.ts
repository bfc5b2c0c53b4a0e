// Every UID a VMI name had in a namespace, from a list and then a watch (relisting when the watch
// ends), so a spec can tell "exactly one new instance was created" from "one exists now": a VMI that
// was created and deleted between two polls still shows here.
import { Watch } from '@kubernetes/client-node';
import { kc, objects } from './kube.ts';

interface Item {
  metadata?: { name?: string; uid?: string; resourceVersion?: string };
}

export class VmiUidRecorder {
  readonly namespace: string;
  /** UIDs by VMI name, in the order they were first seen. */
  readonly #uids = new Map<string, string[]>();
  #watch: AbortController | undefined;
  #stopped = false;

  private constructor(namespace: string) {
    this.namespace = namespace;
  }

  static async start(namespace: string): Promise<VmiUidRecorder> {
    const recorder = new VmiUidRecorder(namespace);
    await recorder.#listAndWatch();
    return recorder;
  }

  #record(item: Item | undefined): void {
    const name = item?.metadata?.name;
    const uid = item?.metadata?.uid;
    if (!name || !uid) return;
    const seen = this.#uids.get(name) ?? [];
    if (!seen.includes(uid)) this.#uids.set(name, [...seen, uid]);
  }

  async #listAndWatch(): Promise<void> {
    const list = await objects.list('kubevirt.io/v1', 'VirtualMachineInstance', this.namespace);
    for (const item of list.items) this.#record(item as Item);
    const restart = () => {
      if (this.#stopped) return;
      setTimeout(() => void this.#listAndWatch().catch(restart), 500);
    };
    this.#watch = await new Watch(kc).watch(
      `/apis/kubevirt.io/v1/namespaces/${this.namespace}/virtualmachineinstances`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj: Item) => {
        if (type !== 'BOOKMARK' && type !== 'ERROR') this.#record(obj);
      },
      restart,
    );
  }

  /** Every UID the VMI `name` had since the recorder started (the one it had then first). */
  uids(name: string): string[] {
    return [...(this.#uids.get(name) ?? [])];
  }

  /** The UIDs of `name` other than `originalUid`: the instances created since. */
  newUids(name: string, originalUid: string): string[] {
    return this.uids(name).filter((u) => u !== originalUid);
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.abort();
  }
}
