import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.ts';
import { RateLimitingQueue } from './rate-limiting-queue.ts';
import { nopQueueMetrics } from './workqueue.ts';

describe('RateLimitingQueue', () => {
  context('when an item fails repeatedly', () => {
    it('should re-add it after the backoff, doubling each time', async () => {
      const clock = new FakeClock();
      const q = new RateLimitingQueue({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
      q.addRateLimited('a');
      await clock.advance(4);
      expect(q.len()).to.equal(0);
      await clock.advance(1);
      expect(q.len()).to.equal(1);
      q.done((await q.get())!);
      q.addRateLimited('a');
      await clock.advance(9);
      expect(q.len()).to.equal(0);
      await clock.advance(1);
      expect(q.len()).to.equal(1);
      expect(q.numRequeues('a')).to.equal(2);
    });

    it('should restart from the base delay after forget', async () => {
      const clock = new FakeClock();
      const q = new RateLimitingQueue({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
      q.addRateLimited('a');
      q.addRateLimited('a');
      q.forget('a');
      expect(q.numRequeues('a')).to.equal(0);
      await clock.advance(5);
      expect(q.len()).to.equal(1);
    });

    it('should count retries in the metrics', () => {
      let retries = 0;
      const q = new RateLimitingQueue({
        clock: new FakeClock(),
        metrics: { ...nopQueueMetrics, retried: () => retries++ },
      });
      q.addRateLimited('a');
      q.addRateLimited('b');
      expect(retries).to.equal(2);
    });
  });

  context('with the default limiter', () => {
    it('should retry the first failure after 5 ms', async () => {
      const clock = new FakeClock();
      const q = new RateLimitingQueue({ clock });
      q.addRateLimited('a');
      await clock.advance(4);
      expect(q.len()).to.equal(0);
      await clock.advance(1);
      expect(q.len()).to.equal(1);
    });
  });
});
