/**
 * Runs async sections one at a time per key, in the order they arrive; sections of different keys
 * run concurrently. A section that throws releases the key like one that returns.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await section();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** How many keys are held or awaited (for tests: no key is kept once its sections are done). */
  get size(): number {
    return this.#tails.size;
  }
}
