import { expect } from 'chai';
import {
  decide,
  type LeaderElectionRecord,
  microTime,
  nextRecord,
  recordChanged,
  releasedRecord,
} from './leader-election-decision.ts';

const t = Date.UTC(2025, 0, 1);
const held = (holder: string, renewTime = microTime(t), transitions = 3): LeaderElectionRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(t - 60_000),
  renewTime,
  leaseTransitions: transitions,
});

describe('leader election decision', () => {
  context('when no lease exists', () => {
    it('should create it', () => {
      expect(decide({ record: null, observedAt: 0, now: t, identity: 'me', leading: false })).to.deep.equal({
        action: 'create',
      });
    });
  });

  context('when we hold the lease', () => {
    it('should renew it, keeping acquireTime and transitions', () => {
      const record = held('me');
      const d = decide({ record, observedAt: t, now: t + 2000, identity: 'me', leading: true });
      expect(d).to.deep.equal({ action: 'renew' });
      expect(nextRecord(d, record, 'me', microTime(t + 2000), 15)).to.deep.equal({
        ...record,
        renewTime: microTime(t + 2000),
      });
    });
  });

  context('when another replica holds the lease', () => {
    it('should wait while its record changed less than a lease duration ago on our clock', () => {
      const d = decide({
        record: held('other'),
        observedAt: t,
        now: t + 14_999,
        identity: 'me',
        leading: false,
      });
      expect(d).to.deep.equal({ action: 'wait', holder: 'other', expiresAt: t + 15_000 });
    });

    it('should acquire once its record has not changed for a lease duration, bumping transitions', () => {
      const record = held('other');
      const d = decide({ record, observedAt: t, now: t + 15_000, identity: 'me', leading: false });
      expect(d).to.deep.equal({ action: 'acquire', reason: 'expired' });
      expect(nextRecord(d, record, 'me', microTime(t + 15_000), 15)).to.deep.equal({
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: microTime(t + 15_000),
        renewTime: microTime(t + 15_000),
        leaseTransitions: 4,
      });
    });

    it('should ignore clock skew: a renewTime far in the past or future does not change expiry', () => {
      const stale = held('other', microTime(t - 3_600_000));
      const future = held('other', microTime(t + 3_600_000));
      for (const record of [stale, future]) {
        expect(
          decide({ record, observedAt: t, now: t + 1000, identity: 'me', leading: false }).action,
        ).to.equal('wait');
        expect(
          decide({ record, observedAt: t, now: t + 15_000, identity: 'me', leading: false }).action,
        ).to.equal('acquire');
      }
    });

    it("should use the record's own lease duration (a released lease lasts 1 s)", () => {
      const record = { ...held('other'), leaseDurationSeconds: 1 };
      expect(
        decide({ record, observedAt: t, now: t + 1000, identity: 'me', leading: false }).action,
      ).to.equal('acquire');
    });

    it('should report the lease lost when we believed we were leading', () => {
      expect(
        decide({ record: held('other'), observedAt: t, now: t, identity: 'me', leading: true }),
      ).to.deep.equal({
        action: 'lost',
        holder: 'other',
      });
    });
  });

  context('when the lease was released', () => {
    it('should acquire it at once', () => {
      const record = releasedRecord(held('other'), microTime(t));
      expect(record).to.include({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 });
      expect(decide({ record, observedAt: t, now: t, identity: 'me', leading: false })).to.deep.equal({
        action: 'acquire',
        reason: 'released',
      });
    });
  });

  describe('recordChanged', () => {
    it('should see a renewal, a new holder or a transition as a change, and nothing else', () => {
      const a = held('x');
      expect(recordChanged(a, { ...a })).to.equal(false);
      expect(recordChanged(a, { ...a, renewTime: microTime(t + 1) })).to.equal(true);
      expect(recordChanged(a, { ...a, holderIdentity: 'y' })).to.equal(true);
      expect(recordChanged(a, { ...a, leaseTransitions: 9 })).to.equal(true);
      expect(recordChanged(null, a)).to.equal(true);
      expect(recordChanged(null, null)).to.equal(false);
    });
  });

  it('should format MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2025, 0, 1, 0, 0, 0, 5))).to.equal('2025-01-01T00:00:00.005000Z');
  });
});
