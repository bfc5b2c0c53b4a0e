import { expect } from 'chai';
import { FakeClock, flush } from './clock.ts';
import { WorkQueue, type WorkQueueMetrics } from './workqueue.ts';

function recordingMetrics() {
  const seen = { depth: [] as number[], added: 0, queue: [] as number[], work: [] as number[], retried: 0 };
  const metrics: WorkQueueMetrics = {
    depth: (v) => seen.depth.push(v),
    added: () => seen.added++,
    queueDuration: (s) => seen.queue.push(s),
    workDuration: (s) => seen.work.push(s),
    retried: () => seen.retried++,
  };
  return { seen, metrics };
}

describe('WorkQueue', () => {
  context('when keys are added', () => {
    it('should hand them out in FIFO order', async () => {
      const q = new WorkQueue();
      q.add('a');
      q.add('b');
      q.add('c');
      expect([await q.get(), await q.get(), await q.get()]).to.deep.equal(['a', 'b', 'c']);
    });

    it('should dedupe a key that is already queued', async () => {
      const q = new WorkQueue();
      q.add('a');
      q.add('b');
      q.add('a');
      expect(q.len()).to.equal(2);
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal('b');
      expect(q.len()).to.equal(0);
    });

    it('should resolve a waiting get when a key arrives', async () => {
      const q = new WorkQueue();
      const pending = q.get();
      q.add('x');
      expect(await pending).to.equal('x');
    });
  });

  context('when a key is added while it is being processed', () => {
    it('should not hand it out again until done, then re-queue it once', async () => {
      const q = new WorkQueue();
      q.add('a');
      const first = await q.get();
      q.add('a');
      q.add('a');
      expect(q.len()).to.equal(0);
      let second: string | undefined;
      void q.get().then((k) => (second = k));
      await flush();
      expect(second).to.equal(undefined);
      q.done(first!);
      await flush();
      expect(second).to.equal('a');
      expect(q.len()).to.equal(0);
    });

    it('should not re-queue a key that was not re-added', async () => {
      const q = new WorkQueue();
      q.add('a');
      q.done((await q.get())!);
      expect(q.len()).to.equal(0);
      expect(q.processing()).to.equal(0);
    });
  });

  context('when many workers compete for the same keys', () => {
    it('should never give one key to two workers at once', async () => {
      const q = new WorkQueue();
      const active = new Set<string>();
      let overlaps = 0;
      let handled = 0;
      const worker = async () => {
        for (;;) {
          const key = await q.get();
          if (key === undefined) return;
          if (active.has(key)) overlaps++;
          active.add(key);
          if (handled % 2 === 0) q.add(key);
          await flush(1);
          active.delete(key);
          handled++;
          q.done(key);
        }
      };
      const workers = Array.from({ length: 8 }, () => worker());
      for (let round = 0; round < 20; round++) {
        for (const k of ['a', 'b', 'c', 'd']) q.add(k);
        await flush(1);
      }
      await q.shutDownWithDrain();
      q.shutDown();
      await Promise.all(workers);
      expect(handled).to.be.greaterThan(4);
      expect(overlaps).to.equal(0);
    });
  });

  context('when shut down', () => {
    it('should ignore adds and resolve pending gets with undefined', async () => {
      const q = new WorkQueue();
      const pending = q.get();
      q.shutDown();
      q.add('a');
      expect(await pending).to.equal(undefined);
      expect(q.len()).to.equal(0);
    });

    it('should still hand out keys queued before the shutdown', async () => {
      const q = new WorkQueue();
      q.add('a');
      q.shutDown();
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal(undefined);
    });

    it('should wait for in-flight keys on shutDownWithDrain', async () => {
      const q = new WorkQueue();
      q.add('a');
      const key = await q.get();
      let drained = false;
      const drain = q.shutDownWithDrain().then(() => (drained = true));
      await flush();
      expect(drained).to.equal(false);
      q.done(key!);
      await drain;
      expect(drained).to.equal(true);
    });

    it('should resolve shutDownWithDrain at once when nothing is in flight', async () => {
      const q = new WorkQueue();
      await q.shutDownWithDrain();
      expect(q.isShuttingDown()).to.equal(true);
    });
  });

  context('with metrics', () => {
    it('should report adds, depth, queue time and work time on the clock', async () => {
      const clock = new FakeClock();
      const { seen, metrics } = recordingMetrics();
      const q = new WorkQueue({ clock, metrics });
      q.add('a');
      q.add('a');
      q.add('b');
      expect(seen.added).to.equal(2);
      expect(seen.depth.at(-1)).to.equal(2);
      await clock.advance(1500);
      const key = await q.get();
      expect(seen.queue).to.deep.equal([1.5]);
      await clock.advance(250);
      expect(q.unfinishedWork()).to.deep.equal({ unfinishedSeconds: 0.25, longestSeconds: 0.25 });
      q.done(key!);
      expect(seen.work).to.deep.equal([0.25]);
      expect(seen.depth.at(-1)).to.equal(1);
      expect(q.unfinishedWork()).to.deep.equal({ unfinishedSeconds: 0, longestSeconds: 0 });
    });
  });
});
