// A watch on a namespace's VMIs that timestamps, client-side with ms precision, when each replacement
// VMI (a UID other than the original's) is first seen and first seen Running. creationTimestamp has
// whole seconds only, so the watch is the clock; its delivery lag is the same for every round.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { HttpMethod, type RestClient } from '../src/runtime/rest.ts';

interface VmiEvent {
  metadata?: { name?: string; uid?: string };
  status?: { phase?: string; nodeName?: string };
}

export interface Replacement {
  name: string;
  uid: string;
  /** performance.now() when first seen. */
  seenAt: number;
  runningAt?: number;
  nodeName?: string;
}

export class VmiTimeline {
  readonly #originals: ReadonlyMap<string, string>;
  readonly replacements = new Map<string, Replacement>();
  #abort: AbortController | undefined;
  #error: unknown;
  #stopped = false;
  #waiters: (() => void)[] = [];

  /** `originals`: VMI name → the UID that must be replaced. */
  constructor(originals: ReadonlyMap<string, string>) {
    this.#originals = originals;
  }

  /** Lists, then watches from the list's resourceVersion: nothing is missed between the two. */
  async start(kc: KubeConfig, rest: RestClient, namespace: string): Promise<void> {
    const path = `/apis/kubevirt.io/v1/namespaces/${namespace}/virtualmachineinstances`;
    const list = await rest.request<{ metadata: { resourceVersion: string }; items: VmiEvent[] }>(
      HttpMethod.GET,
      path,
    );
    for (const vmi of list.items) this.#observe(vmi);
    this.#abort = await new Watch(kc).watch(
      path,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: false },
      (_type, object: VmiEvent) => this.#observe(object),
      (err) => {
        if (!this.#stopped) this.#error = err ?? new Error('the server closed the watch');
        this.#wake();
      },
    );
  }

  #observe(vmi: VmiEvent): void {
    const now = performance.now();
    const name = vmi.metadata?.name;
    const uid = vmi.metadata?.uid;
    if (!name || !uid || !this.#originals.has(name) || this.#originals.get(name) === uid) return;
    let r = this.replacements.get(name);
    if (r === undefined || r.uid !== uid) {
      if (r !== undefined) console.warn(`bench: VMI ${name} was replaced twice (${r.uid}, then ${uid})`);
      r = { name, uid, seenAt: now };
      this.replacements.set(name, r);
    }
    if (vmi.status?.phase === 'Running' && r.runningAt === undefined) {
      r.runningAt = now;
      r.nodeName = vmi.status.nodeName;
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  get running(): number {
    return [...this.replacements.values()].filter((r) => r.runningAt !== undefined).length;
  }

  /** Resolves when every original has a Running replacement; rejects on timeout or a broken watch. */
  async allRunning(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.running < this.#originals.size) {
      if (this.#error) throw new Error(`the VMI watch failed: ${String(this.#error)}`);
      const left = deadline - performance.now();
      if (left <= 0)
        throw new Error(
          `timed out after ${timeoutMs / 1000} s: ${this.replacements.size} replacement VMIs seen, ` +
            `${this.running} Running, of ${this.#originals.size}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}
