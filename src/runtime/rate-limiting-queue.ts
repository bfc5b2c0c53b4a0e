import { DelayingQueue } from './delaying-queue.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';
import type { WorkQueueOptions } from './workqueue.ts';

export interface RateLimitingQueueOptions extends WorkQueueOptions {
  rateLimiter?: RateLimiter;
}

/** client-go `TypedRateLimitingInterface`: retries wait as long as the rate limiter says. */
export class RateLimitingQueue extends DelayingQueue {
  readonly #limiter: RateLimiter;

  constructor(options: RateLimitingQueueOptions = {}) {
    super(options);
    this.#limiter = options.rateLimiter ?? defaultControllerRateLimiter(this.clock);
  }

  addRateLimited(key: string): void {
    this.metrics.retried();
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Stop tracking the key's failures (after a success); it does not remove it from the queue. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }
}
