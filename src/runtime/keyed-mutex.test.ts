import { expect } from 'chai';
import { KeyedMutex } from './keyed-mutex.ts';

/** A promise the test settles by hand. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('should run sections of one key one at a time, in arrival order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const first = gate();
    const a = mutex.run('k', async () => {
      log.push('a start');
      await first.promise;
      log.push('a end');
      return 'a';
    });
    const b = mutex.run('k', async () => {
      log.push('b');
      return 'b';
    });
    const c = mutex.run('k', async () => {
      log.push('c');
      return 'c';
    });
    await tick();
    expect(log).to.deep.equal(['a start']);
    first.open();
    expect(await Promise.all([a, b, c])).to.deep.equal(['a', 'b', 'c']);
    expect(log).to.deep.equal(['a start', 'a end', 'b', 'c']);
    expect(mutex.size).to.equal(0);
  });

  it('should run sections of different keys concurrently', async () => {
    const mutex = new KeyedMutex();
    const held = gate();
    let otherRan = false;
    const a = mutex.run('one', () => held.promise);
    await mutex.run('two', async () => {
      otherRan = true;
    });
    expect(otherRan).to.equal(true);
    held.open();
    await a;
  });

  it('should release the key when a section throws, and pass the error on', async () => {
    const mutex = new KeyedMutex();
    const failing = mutex.run('k', async () => {
      throw new Error('boom');
    });
    const next = mutex.run('k', async () => 'next');
    let caught: unknown;
    await failing.catch((error: unknown) => (caught = error));
    expect((caught as Error).message).to.equal('boom');
    expect(await next).to.equal('next');
    expect(mutex.size).to.equal(0);
  });
});
