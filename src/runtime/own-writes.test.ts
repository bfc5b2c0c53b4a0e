import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import { OwnWrites, UNCERTAIN_WRITE_TTL_MS } from './own-writes.ts';

interface Obj {
  metadata: { resourceVersion?: string };
  phase: string;
}
const at = (resourceVersion: string, phase = 'Pending'): Obj => ({ metadata: { resourceVersion }, phase });

describe('OwnWrites', () => {
  it('should know nothing of a key never written', () => {
    const writes = new OwnWrites<Obj>();
    expect(writes.cacheBehind('ns/a', at('1'))).to.equal(false);
    expect(writes.latest('ns/a', at('1'))).to.deep.equal(at('1'));
  });

  it('should say the cache is behind, and give our write, while the cache shows the version it replaced', () => {
    const writes = new OwnWrites<Obj>();
    writes.wrote('ns/a', [at('7')], at('8', 'Fencing'));
    expect(writes.cacheBehind('ns/a', at('7'))).to.equal(true);
    expect(writes.latest('ns/a', at('7'))).to.deep.equal(at('8', 'Fencing'));
    expect(writes.cacheBehind('ns/a', at('7')), 'asking does not forget').to.equal(true);
    expect(writes.cacheBehind('ns/b', at('7')), 'other keys').to.equal(false);
  });

  it('should forget the write, and give the cached object, once the cache shows any other version', () => {
    const writes = new OwnWrites<Obj>();
    writes.wrote('ns/a', [at('7')], at('8', 'Fencing'));
    expect(writes.latest('ns/a', at('9', 'Rebuilding'))).to.deep.equal(at('9', 'Rebuilding'));
    expect(writes.size).to.equal(0);
    expect(writes.cacheBehind('ns/a', at('7')), 'forgotten, not remembered').to.equal(false);
  });

  it('should stay behind while the cache shows a version between writes of one reconcile', () => {
    const writes = new OwnWrites<Obj>();
    // A finalizer added (7 → 8), then the status written (8 → 9): 8 alone must not pass for caught up.
    writes.wrote('ns/a', [at('7'), at('8')], at('9', 'Fencing'));
    expect(writes.latest('ns/a', at('8'))).to.deep.equal(at('9', 'Fencing'));
    expect(writes.cacheBehind('ns/a', at('7'))).to.equal(true);
    expect(writes.cacheBehind('ns/a', at('9'))).to.equal(false);
  });

  it('should never take our own last answer for a version it replaced', () => {
    const writes = new OwnWrites<Obj>();
    writes.wrote('ns/a', [at('7'), at('8')], at('8'));
    expect(writes.cacheBehind('ns/a', at('8'))).to.equal(false);
  });

  it('should forget the write of an object gone from the cache', () => {
    const writes = new OwnWrites<Obj>();
    writes.wrote('ns/a', [at('7')], at('8'));
    expect(writes.cacheBehind('ns/a', undefined)).to.equal(false);
    expect(writes.size).to.equal(0);
  });

  context('after a write with no clear answer', () => {
    it('should have siblings wait while the cache shows what it wrote over, and not hold the object itself back', () => {
      const writes = new OwnWrites<Obj>({ clock: new FakeClock() });
      writes.wroteUncertain('ns/a', [at('7')]);
      expect(writes.latest('ns/a', at('7')), 'outcome unknown').to.equal(undefined);
      expect(writes.cacheBehind('ns/a', at('7')), 'its own reconcile goes on').to.equal(false);
      expect(writes.latest('ns/a', at('7')), 'still unknown to siblings').to.equal(undefined);
    });

    it('should be settled by the cache moving on', () => {
      const writes = new OwnWrites<Obj>({ clock: new FakeClock() });
      writes.wroteUncertain('ns/a', [at('7')]);
      expect(writes.latest('ns/a', at('8', 'Fencing'))).to.deep.equal(at('8', 'Fencing'));
      expect(writes.size).to.equal(0);
    });

    it('should be settled by a later certain write', () => {
      const writes = new OwnWrites<Obj>({ clock: new FakeClock() });
      writes.wroteUncertain('ns/a', [at('7')]);
      writes.wrote('ns/a', [at('7')], at('9', 'Fencing'));
      expect(writes.latest('ns/a', at('7'))).to.deep.equal(at('9', 'Fencing'));
    });

    it('should stop holding siblings back after its TTL, when the write most likely never landed', async () => {
      const clock = new FakeClock();
      const writes = new OwnWrites<Obj>({ clock });
      writes.wroteUncertain('ns/a', [at('7')]);
      await clock.advance(UNCERTAIN_WRITE_TTL_MS - 1);
      expect(writes.latest('ns/a', at('7'))).to.equal(undefined);
      await clock.advance(1);
      expect(writes.latest('ns/a', at('7'))).to.deep.equal(at('7'));
      expect(writes.size).to.equal(0);
    });
  });
});
