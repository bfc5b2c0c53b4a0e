import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  it('should double the delay per failure of one item and cap it', () => {
    const l = new ItemExponentialFailureRateLimiter(5, 1000 * 1000);
    const delays = Array.from({ length: 5 }, () => l.when('a'));
    expect(delays).to.deep.equal([5, 10, 20, 40, 80]);
    for (let i = 0; i < 100; i++) l.when('a');
    expect(l.when('a')).to.equal(1000 * 1000);
    expect(l.numRequeues('a')).to.equal(106);
  });

  it('should track items independently and reset on forget', () => {
    const l = new ItemExponentialFailureRateLimiter(1, 1000);
    l.when('a');
    l.when('a');
    expect(l.when('b')).to.equal(1);
    l.forget('a');
    expect(l.numRequeues('a')).to.equal(0);
    expect(l.when('a')).to.equal(1);
  });

  it('should stay at the cap for a huge number of failures', () => {
    const l = new ItemExponentialFailureRateLimiter(5, 1000);
    for (let i = 0; i < 2000; i++) l.when('a');
    expect(l.when('a')).to.equal(1000);
  });
});

describe('BucketRateLimiter', () => {
  it('should allow the burst at once and then space items at 1/qps', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter(10, 3, clock);
    expect([l.when('a'), l.when('b'), l.when('c')]).to.deep.equal([0, 0, 0]);
    expect(l.when('d')).to.be.closeTo(100, 1e-9);
    expect(l.when('e')).to.be.closeTo(200, 1e-9);
  });

  it('should refill tokens as the clock moves, up to the burst', async () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter(10, 2, clock);
    l.when('a');
    l.when('b');
    await clock.advance(100);
    expect(l.when('c')).to.equal(0);
    await clock.advance(10_000);
    expect([l.when('d'), l.when('e')]).to.deep.equal([0, 0]);
    expect(l.when('f')).to.be.closeTo(100, 1e-9);
    expect(l.numRequeues('f')).to.equal(0);
  });
});

describe('MaxOfRateLimiter', () => {
  it('should return the longest delay and forget in every limiter', () => {
    const clock = new FakeClock();
    const l = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(1, 1, clock),
    );
    expect(l.when('a')).to.equal(5);
    expect(l.when('a')).to.equal(1000);
    expect(l.numRequeues('a')).to.equal(2);
    l.forget('a');
    expect(l.numRequeues('a')).to.equal(0);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('should start at 5 ms per item and allow a burst of 100 across items', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter(clock);
    expect(l.when('a')).to.equal(5);
    expect(l.when('a')).to.equal(10);
    for (let i = 0; i < 98; i++) expect(l.when(`k${i}`)).to.equal(5);
    expect(l.when('overflow')).to.be.closeTo(100, 1e-9);
  });
});
