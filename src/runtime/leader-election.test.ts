import { expect } from 'chai';
import { FakeClock, flush } from './clock.ts';
import type { LeaderElectionRecord } from './leader-election-decision.ts';
import { LeaderElector, type LeaseLock } from './leader-election.ts';

/** An in-memory Lease with resourceVersion checks; `fail` makes every call throw. */
class FakeLock implements LeaseLock {
  record: LeaderElectionRecord | null = null;
  rv = 0;
  fail = false;
  hang = false;
  writes: LeaderElectionRecord[] = [];

  describe() {
    return 'ns/lease';
  }

  /** A hanging read settles only when its signal aborts (as a real request does). */
  async get(signal?: AbortSignal) {
    if (this.hang) {
      return new Promise<never>((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      );
    }
    if (this.fail) throw new Error('apiserver down');
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : null;
  }

  async create(record: LeaderElectionRecord) {
    if (this.fail) throw new Error('apiserver down');
    if (this.record) throw Object.assign(new Error('exists'), { code: 409 });
    return this.#write(record);
  }

  async update(record: LeaderElectionRecord, resourceVersion: string) {
    if (this.fail) throw new Error('apiserver down');
    if (resourceVersion !== String(this.rv)) throw Object.assign(new Error('conflict'), { code: 409 });
    return this.#write(record);
  }

  /** Another replica renews the lease it holds. */
  renewBy(holder: string, at: number) {
    this.#write({
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      renewTime: new Date(at).toISOString(),
      leaseTransitions: this.record?.leaseTransitions ?? 0,
    });
  }

  #write(record: LeaderElectionRecord) {
    this.record = { ...record };
    this.writes.push({ ...record });
    return String(++this.rv);
  }
}

function setup(lock = new FakeLock(), random = () => 0) {
  const clock = new FakeClock();
  const seen = { started: 0, stopped: 0, leaders: [] as string[], metric: [] as boolean[] };
  const elector = new LeaderElector({
    lock,
    identity: 'me',
    clock,
    random,
    onStartedLeading: () => seen.started++,
    onStoppedLeading: () => seen.stopped++,
    onNewLeader: (id) => seen.leaders.push(id),
    setLeaderMetric: (v) => seen.metric.push(v),
  });
  return { clock, lock, elector, seen };
}

describe('LeaderElector', () => {
  context('when no lease exists', () => {
    it('should create it and lead at once', async () => {
      const { lock, elector, seen } = setup();
      elector.start();
      await flush();
      expect(elector.isLeader()).to.equal(true);
      expect(seen.started).to.equal(1);
      expect(lock.record).to.include({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 });
      expect(seen.metric.at(-1)).to.equal(true);
      await elector.stop();
    });
  });

  context('while leading', () => {
    it('should renew every retry period', async () => {
      const { clock, lock, elector } = setup();
      elector.start();
      await flush();
      await clock.advance(2000);
      await clock.advance(2000);
      expect(lock.writes).to.have.length(3);
      expect(lock.writes[2]!.renewTime).to.not.equal(lock.writes[0]!.renewTime);
      await elector.stop();
    });

    it('should call onStoppedLeading at once when another holder shows up', async () => {
      const { clock, lock, elector, seen } = setup();
      elector.start();
      await flush();
      lock.renewBy('thief', clock.now());
      await clock.advance(2000);
      expect(elector.isLeader()).to.equal(false);
      expect(seen.stopped).to.equal(1);
      expect(seen.metric.at(-1)).to.equal(false);
      await elector.stop();
    });

    it('should give up when renewals keep failing until the renew deadline', async () => {
      const { clock, lock, elector, seen } = setup();
      elector.start();
      await flush();
      lock.fail = true;
      await clock.advance(9_999);
      expect(seen.stopped).to.equal(0);
      await clock.advance(1);
      expect(seen.stopped).to.equal(1);
      expect(elector.isLeader()).to.equal(false);
      lock.fail = false;
      await clock.advance(10_000);
      expect(elector.isLeader()).to.equal(false);
      await elector.stop();
    });

    it('should give up when a renewal hangs past the renew deadline', async () => {
      const { clock, lock, elector, seen } = setup();
      elector.start();
      await flush();
      lock.hang = true;
      await clock.advance(10_000);
      expect(seen.stopped).to.equal(1);
      await elector.stop();
    });

    it('should release the lease on stop without calling onStoppedLeading', async () => {
      const { lock, elector, seen } = setup();
      elector.start();
      await flush();
      await elector.stop();
      expect(lock.record).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });
      expect(seen.stopped).to.equal(0);
      expect(elector.isLeader()).to.equal(false);
    });
  });

  context('when another replica holds the lease', () => {
    it('should wait while the holder keeps renewing and take over once it stops', async () => {
      const lock = new FakeLock();
      const { clock, elector, seen } = setup(lock);
      lock.renewBy('other', clock.now());
      elector.start();
      await flush();
      expect(elector.isLeader()).to.equal(false);
      expect(seen.leaders).to.deep.equal(['other']);
      for (let i = 0; i < 10; i++) {
        lock.renewBy('other', clock.now());
        await clock.advance(2000);
      }
      expect(elector.isLeader()).to.equal(false);
      await clock.advance(16_000);
      expect(elector.isLeader()).to.equal(true);
      expect(lock.record).to.include({ holderIdentity: 'me', leaseTransitions: 1 });
      expect(seen.leaders).to.deep.equal(['other', 'me']);
      await elector.stop();
    });

    it('should take over right after the lease expires, not at its next jittered retry', async () => {
      const lock = new FakeLock();
      const { clock, elector } = setup(lock, () => 0.999); // retries every ~4.4 s
      const startedAt = clock.now();
      lock.renewBy('other', startedAt); // its last renewal: the holder dies now
      elector.start();
      await flush();
      await clock.advance(15_000 + 5);
      expect(elector.isLeader(), 'before the observed expiry').to.equal(false);
      await clock.advance(10);
      expect(elector.isLeader(), 'right after the observed expiry').to.equal(true);
      expect(Date.parse(lock.record!.acquireTime!) - startedAt).to.be.within(15_000, 15_015);
      await elector.stop();
    });

    it('should abandon a lease read left unanswered after the renew deadline, and still take over', async () => {
      const lock = new FakeLock();
      const { clock, elector } = setup(lock);
      lock.renewBy('other', clock.now());
      elector.start();
      await flush();
      lock.hang = true;
      await clock.advance(2_000);
      lock.hang = false;
      await clock.advance(9_000);
      expect(elector.isLeader()).to.equal(false);
      await clock.advance(20_000);
      expect(elector.isLeader()).to.equal(true);
      await elector.stop();
    });

    it('should stop at once while a lease read hangs', async () => {
      const lock = new FakeLock();
      const { clock, elector } = setup(lock);
      lock.renewBy('other', clock.now());
      elector.start();
      await flush();
      lock.hang = true;
      await clock.advance(2_000);
      const stopped = elector.stop().then(() => 'stopped');
      expect(await Promise.race([stopped, flush().then(() => 'still waiting')])).to.equal('stopped');
    });

    it('should judge expiry on its own clock even if the holder wrote a renewTime far in the future', async () => {
      const lock = new FakeLock();
      const { clock, elector } = setup(lock);
      lock.renewBy('other', clock.now() + 86_400_000);
      elector.start();
      await flush();
      await clock.advance(14_000);
      expect(elector.isLeader()).to.equal(false);
      await clock.advance(3_000);
      expect(elector.isLeader()).to.equal(true);
      await elector.stop();
    });

    it('should not become leader when its takeover loses the optimistic-concurrency race', async () => {
      const lock = new FakeLock();
      const { clock, elector } = setup(lock);
      lock.renewBy('other', clock.now());
      const realUpdate = lock.update.bind(lock);
      let raced = false;
      lock.update = async (record, rv) => {
        if (!raced) {
          raced = true;
          lock.renewBy('third', clock.now());
        }
        return realUpdate(record, rv);
      };
      elector.start();
      await clock.advance(16_000);
      expect(raced).to.equal(true);
      expect(elector.isLeader()).to.equal(false);
      expect(lock.record?.holderIdentity).to.equal('third');
      await elector.stop();
    });

    it('should take a released lease at once', async () => {
      const lock = new FakeLock();
      const { elector } = setup(lock);
      lock.record = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 };
      elector.start();
      await flush();
      expect(elector.isLeader()).to.equal(true);
      expect(lock.record).to.include({ holderIdentity: 'me', leaseTransitions: 3 });
      await elector.stop();
    });
  });
});
