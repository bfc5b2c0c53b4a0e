/** The fields every Kubernetes object has that the runtime relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: unknown;
  };
}

/** An index function maps an object to the values it is indexed under (client-go `IndexFunc`). */
export type IndexFunc<T> = (obj: T) => string[];

/** The queue and cache key: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by `objectKey`. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Freezes an object and everything reachable from it, so cache readers cannot change shared state. */
export function deepFreeze<T>(obj: T): T {
  if (obj === null || typeof obj !== 'object' || Object.isFrozen(obj)) return obj;
  Object.freeze(obj);
  for (const value of Object.values(obj)) deepFreeze(value);
  return obj;
}

/** Index functions most controllers need. */
export const indexers = {
  namespace: ((obj: KubeObject) =>
    obj.metadata?.namespace ? [obj.metadata.namespace] : []) as IndexFunc<KubeObject>,
  /** Indexes by the value of one label (e.g. VMIs by `kubevirt.io/nodeName`). */
  byLabel(label: string): IndexFunc<KubeObject> {
    return (obj) => {
      const v = obj.metadata?.labels?.[label];
      return v === undefined ? [] : [v];
    };
  },
  /** Pods by `spec.nodeName`. */
  podNodeName: ((obj: { spec?: { nodeName?: string } }) =>
    obj.spec?.nodeName ? [obj.spec.nodeName] : []) as IndexFunc<KubeObject>,
};

/**
 * An indexed cache of frozen objects keyed by `objectKey`. Only the informer writes to it; everyone
 * else reads (client-go `ThreadSafeStore` with `Indexers`).
 */
export class Store<T extends KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers: Record<string, IndexFunc<T>> = {};
  /** index name → indexed value → keys */
  readonly #indices = new Map<string, Map<string, Set<string>>>();
  readonly #onIndexError: (index: string, key: string, err: unknown) => void;

  constructor(
    indexers: Record<string, IndexFunc<T>> = {},
    onIndexError: (index: string, key: string, err: unknown) => void = () => {},
  ) {
    this.#onIndexError = onIndexError;
    this.addIndexers(indexers);
  }

  /** Adds index functions; only while the store is still empty. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      const existing = this.#indexers[name];
      if (existing === fn) continue;
      if (existing) throw new Error(`index "${name}" is already defined differently`);
      if (this.#items.size > 0) throw new Error(`cannot add index "${name}" to a store that holds objects`);
      this.#indexers[name] = fn;
      this.#indices.set(name, new Map());
    }
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  get size(): number {
    return this.#items.size;
  }

  byIndex(index: string, value: string): T[] {
    return this.indexKeys(index, value).map((k) => this.#items.get(k)!);
  }

  indexKeys(index: string, value: string): string[] {
    const idx = this.#indices.get(index);
    if (!idx) throw new Error(`no index named "${index}"`);
    return [...(idx.get(value) ?? [])];
  }

  /** Stores a frozen copy-free reference of `obj`; returns the previous object under its key. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    deepFreeze(obj);
    this.#items.set(key, obj);
    this.#index(key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  #values(name: string, key: string, obj: T): string[] {
    try {
      return this.#indexers[name]!(obj);
    } catch (err) {
      this.#onIndexError(name, key, err);
      return [];
    }
  }

  #index(key: string, obj: T): void {
    for (const [name, idx] of this.#indices) {
      for (const v of this.#values(name, key, obj)) {
        let keys = idx.get(v);
        if (!keys) idx.set(v, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, idx] of this.#indices) {
      for (const v of this.#values(name, key, obj)) {
        const keys = idx.get(v);
        keys?.delete(key);
        if (keys?.size === 0) idx.delete(v);
      }
    }
  }
}
