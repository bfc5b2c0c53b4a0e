import { expect } from 'chai';
import { FakeClock, sleep } from './clock.ts';
import {
  apiErrorCode,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isTerminalError,
  outcomeUnknown,
  statusReason,
  TerminalError,
} from './errors.ts';
import { createLogger } from './logger.ts';
import { resourcePath } from './resource.ts';
import { deepFreeze, objectKey, splitKey } from './store.ts';

describe('errors', () => {
  const api = (code: number, reason?: string) =>
    Object.assign(new Error('x'), { code, body: { kind: 'Status', reason } });

  it('should classify API errors by code and Status reason', () => {
    expect(isNotFound(api(404))).to.equal(true);
    expect(isGone(Object.assign(new Error('Gone'), { statusCode: 410 }))).to.equal(true);
    expect(isConflict(api(409, 'Conflict'))).to.equal(true);
    expect(isConflict(api(409, 'AlreadyExists'))).to.equal(false);
    expect(isAlreadyExists(api(409, 'AlreadyExists'))).to.equal(true);
    expect(isAlreadyExists({ code: 409, body: '{"reason":"AlreadyExists"}' })).to.equal(true);
    expect(isNotFound(new Error('plain'))).to.equal(false);
    expect(apiErrorCode('str')).to.equal(undefined);
    expect(statusReason({ body: 'not json' })).to.equal(undefined);
  });

  it('should tell a write that may have been applied from a clear refusal', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(outcomeUnknown(reset)).to.equal(true);
    expect(outcomeUnknown(new DOMException('timed out', 'TimeoutError'))).to.equal(true);
    expect(outcomeUnknown(api(504, 'Timeout'))).to.equal(true);
    expect(outcomeUnknown(api(409, 'Conflict'))).to.equal(false);
    expect(outcomeUnknown(api(422, 'Invalid'))).to.equal(false);
  });

  it('should recognise terminal errors', () => {
    expect(isTerminalError(new TerminalError('bad spec'))).to.equal(true);
    expect(isTerminalError(new Error('x'))).to.equal(false);
  });
});

describe('logger', () => {
  it('should write one JSON line per event with child fields, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l), now: () => 0 });
    const child = log.child({ controller: 'c' }).child({ key: 'ns/a', reconcileID: 'r1' });
    child.debug('hidden');
    child.warn('visible', { err: Object.assign(new Error('boom'), { code: 409 }) });
    expect(lines).to.have.length(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).to.deep.include({
      ts: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      msg: 'visible',
      controller: 'c',
      key: 'ns/a',
      reconcileID: 'r1',
    });
    expect(rec.err).to.include({ name: 'Error', message: 'boom', code: 409 });
    expect(log.enabled('debug')).to.equal(false);
  });

  it('should survive fields that cannot be serialized', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    log.info('cyclic', { loop });
    expect(JSON.parse(lines[0]!)).to.include({ msg: 'cyclic', logError: 'fields not serializable' });
  });
});

describe('clock', () => {
  it('should resolve sleep on the fake clock, or at once when aborted', async () => {
    const clock = new FakeClock();
    let done = false;
    void sleep(clock, 100).then(() => (done = true));
    await clock.advance(99);
    expect(done).to.equal(false);
    await clock.advance(1);
    expect(done).to.equal(true);
    const ac = new AbortController();
    const p = sleep(clock, 1e9, ac.signal);
    ac.abort();
    await p;
    expect(clock.pendingTimers()).to.equal(0);
  });
});

describe('keys, paths and freezing', () => {
  it('should build and split namespace/name keys', () => {
    expect(objectKey({ metadata: { name: 'a', namespace: 'ns' } })).to.equal('ns/a');
    expect(objectKey({ metadata: { name: 'node1' } })).to.equal('node1');
    expect(splitKey('ns/a')).to.deep.equal({ namespace: 'ns', name: 'a' });
    expect(splitKey('node1')).to.deep.equal({ namespace: undefined, name: 'node1' });
  });

  it('should build REST paths for core and grouped resources', () => {
    const pods = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
    const vmis = {
      group: 'kubevirt.io',
      version: 'v1',
      plural: 'virtualmachineinstances',
      kind: 'X',
      namespaced: true,
    };
    const nodes = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };
    expect(resourcePath(pods)).to.equal('/api/v1/pods');
    expect(resourcePath(pods, 'ns', 'p')).to.equal('/api/v1/namespaces/ns/pods/p');
    expect(resourcePath(vmis, 'ns')).to.equal('/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances');
    expect(resourcePath(nodes, 'ignored', 'n1')).to.equal('/api/v1/nodes/n1');
  });

  it('should freeze nested objects and arrays', () => {
    const o = deepFreeze({ a: { b: [{ c: 1 }] } });
    expect(() => {
      (o.a.b[0] as { c: number }).c = 2;
    }).to.throw(TypeError);
    expect(() => o.a.b.push({ c: 3 })).to.throw(TypeError);
  });
});
