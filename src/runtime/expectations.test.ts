import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import { EXPECTATIONS_TTL_MS, Expectations } from './expectations.ts';

describe('Expectations', () => {
  it('should be satisfied for a key with no record', () => {
    expect(new Expectations().satisfiedExpectations('ns/a')).to.equal(true);
  });

  it('should be unsatisfied until every expected creation is observed', () => {
    const e = new Expectations({ clock: new FakeClock() });
    e.expectCreations('ns/a', 2);
    expect(e.satisfiedExpectations('ns/a')).to.equal(false);
    e.creationObserved('ns/a');
    expect(e.satisfiedExpectations('ns/a')).to.equal(false);
    e.creationObserved('ns/a');
    expect(e.satisfiedExpectations('ns/a')).to.equal(true);
  });

  it('should track deletions the same way', () => {
    const e = new Expectations({ clock: new FakeClock() });
    e.expectDeletions('ns/a', 1);
    expect(e.satisfiedExpectations('ns/a')).to.equal(false);
    e.deletionObserved('ns/a');
    expect(e.satisfiedExpectations('ns/a')).to.equal(true);
  });

  it('should expire an unfulfilled record after 5 minutes', async () => {
    const clock = new FakeClock();
    const e = new Expectations({ clock });
    e.expectCreations('ns/a', 1);
    await clock.advance(EXPECTATIONS_TTL_MS);
    expect(e.satisfiedExpectations('ns/a')).to.equal(false);
    await clock.advance(1);
    expect(e.isExpired('ns/a')).to.equal(true);
    expect(e.satisfiedExpectations('ns/a')).to.equal(true);
  });

  it('should raise and lower counts, keeping the original timestamp when raising', async () => {
    const clock = new FakeClock();
    const e = new Expectations({ clock });
    e.expectCreations('k', 1);
    const t = e.getExpectations('k')!.timestamp;
    await clock.advance(1000);
    e.raiseExpectations('k', 1, 2);
    expect(e.getExpectations('k')).to.deep.equal({ add: 2, del: 2, timestamp: t });
    e.lowerExpectations('k', 2, 1);
    expect(e.getExpectations('k')).to.include({ add: 0, del: 1 });
    expect(e.satisfiedExpectations('k')).to.equal(false);
  });

  it('should reset the timestamp when expectations are set again, and forget on delete', async () => {
    const clock = new FakeClock();
    const e = new Expectations({ clock });
    e.expectCreations('k', 1);
    await clock.advance(EXPECTATIONS_TTL_MS);
    e.expectCreations('k', 1);
    await clock.advance(1);
    expect(e.satisfiedExpectations('k')).to.equal(false);
    e.deleteExpectations('k');
    expect(e.getExpectations('k')).to.equal(undefined);
    expect(e.satisfiedExpectations('k')).to.equal(true);
  });

  it('should ignore observations for keys without a record', () => {
    const e = new Expectations();
    e.creationObserved('k');
    expect(e.getExpectations('k')).to.equal(undefined);
  });
});
