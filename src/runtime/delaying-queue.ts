import type { Timer } from './clock.ts';
import { WorkQueue, type WorkQueueOptions } from './workqueue.ts';

/** client-go `DelayingInterface`: `addAfter` adds a key once its delay has passed on the queue's clock. */
export class DelayingQueue extends WorkQueue {
  readonly #readyAt = new Map<string, number>();
  #timer: Timer | undefined;
  #timerAt: number | undefined;

  constructor(options: WorkQueueOptions = {}) {
    super(options);
  }

  /** A second `addAfter` for a key already waiting keeps whichever time is earlier. */
  addAfter(key: string, delayMs: number): void {
    if (this.isShuttingDown()) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.#readyAt.get(key);
    if (existing !== undefined && existing <= at) return;
    this.#readyAt.set(key, at);
    // Delays only ever come nearer, so the timer moves only when this one is due first (no scan).
    if (this.#timerAt === undefined || at < this.#timerAt) this.#arm(at);
  }

  /** Keys waiting for their delay to pass. */
  waiting(): number {
    return this.#readyAt.size;
  }

  override shutDown(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = undefined;
    this.#readyAt.clear();
    super.shutDown();
  }

  #arm(at: number): void {
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.clock.setTimeout(() => this.#fire(), at - this.clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    const now = this.clock.now();
    let earliest: number | undefined;
    for (const [key, at] of [...this.#readyAt]) {
      if (at <= now) {
        this.#readyAt.delete(key);
        this.add(key);
      } else if (earliest === undefined || at < earliest) earliest = at;
    }
    if (earliest !== undefined) this.#arm(earliest);
  }
}
