import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import { DelayingQueue } from './delaying-queue.ts';

describe('DelayingQueue', () => {
  context('when a key is added after a delay', () => {
    it('should add it only once the fake clock passes the delay', async () => {
      const clock = new FakeClock();
      const q = new DelayingQueue({ clock });
      q.addAfter('a', 50);
      expect(q.len()).to.equal(0);
      await clock.advance(49);
      expect(q.len()).to.equal(0);
      await clock.advance(1);
      expect(q.len()).to.equal(1);
      expect(await q.get()).to.equal('a');
      expect(q.waiting()).to.equal(0);
    });

    it('should add at once for a zero or negative delay', () => {
      const q = new DelayingQueue({ clock: new FakeClock() });
      q.addAfter('a', 0);
      q.addAfter('b', -5);
      expect(q.len()).to.equal(2);
    });

    it('should release several keys in deadline order', async () => {
      const clock = new FakeClock();
      const q = new DelayingQueue({ clock });
      q.addAfter('late', 300);
      q.addAfter('early', 100);
      q.addAfter('middle', 200);
      await clock.advance(1000);
      expect([await q.get(), await q.get(), await q.get()]).to.deep.equal(['early', 'middle', 'late']);
    });
  });

  context('when a waiting key is added after a delay again', () => {
    it('should keep the earlier time when the new one is later', async () => {
      const clock = new FakeClock();
      const q = new DelayingQueue({ clock });
      q.addAfter('a', 100);
      q.addAfter('a', 500);
      await clock.advance(100);
      expect(q.len()).to.equal(1);
    });

    it('should move to the earlier time when the new one is earlier', async () => {
      const clock = new FakeClock();
      const q = new DelayingQueue({ clock });
      q.addAfter('a', 500);
      q.addAfter('a', 100);
      await clock.advance(100);
      expect(q.len()).to.equal(1);
      expect(q.waiting()).to.equal(0);
    });
  });

  context('when shut down', () => {
    it('should drop waiting keys, cancel its timer and ignore new delayed adds', async () => {
      const clock = new FakeClock();
      const q = new DelayingQueue({ clock });
      q.addAfter('a', 100);
      q.shutDown();
      q.addAfter('b', 10);
      expect(clock.pendingTimers()).to.equal(0);
      await clock.advance(1000);
      expect(q.len()).to.equal(0);
      expect(await q.get()).to.equal(undefined);
    });
  });
});
