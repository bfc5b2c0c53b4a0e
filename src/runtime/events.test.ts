import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import { type EventObject, EventRecorder, type EventSink, REPORTING_CONTROLLER } from './events.ts';
import { createLogger } from './logger.ts';

class FakeSink implements EventSink {
  created: EventObject[] = [];
  patches: { namespace: string; name: string; series: { count: number; lastObservedTime: string } }[] = [];
  fail = false;

  async create(event: EventObject) {
    if (this.fail) throw Object.assign(new Error('forbidden'), { code: 403 });
    this.created.push(structuredClone(event));
  }

  async updateSeries(namespace: string, name: string, series: { count: number; lastObservedTime: string }) {
    if (this.fail) throw new Error('down');
    this.patches.push({ namespace, name, series });
  }
}

const vmi = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'vm1', namespace: 'tenant', uid: 'u-1', resourceVersion: '7' },
};

function setup(opts: { burst?: number; refillMs?: number } = {}) {
  const clock = new FakeClock();
  const sink = new FakeSink();
  const logs: Record<string, unknown>[] = [];
  const recorder = new EventRecorder({
    sink,
    reportingInstance: 'pod-a',
    clock,
    logger: createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l)) }),
    ...opts,
  });
  return { clock, sink, recorder, logs };
}

describe('EventRecorder', () => {
  context('when an event is recorded for the first time', () => {
    it('should create an events.k8s.io/v1 Event with regarding, related and reporting fields', async () => {
      const { clock, sink, recorder } = setup();
      recorder.record(vmi, 'Warning', 'EvacuationStarted', 'Evacuate', 'node n1 is fenced', {
        apiVersion: 'v1',
        kind: 'Node',
        name: 'n1',
      });
      await recorder.flush();
      expect(sink.created).to.have.length(1);
      const e = sink.created[0]!;
      expect(e).to.deep.include({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        type: 'Warning',
        reason: 'EvacuationStarted',
        action: 'Evacuate',
        note: 'node n1 is fenced',
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: 'pod-a',
        eventTime: new Date(clock.now()).toISOString().replace('Z', '000Z'),
        regarding: {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: 'vm1',
          namespace: 'tenant',
          uid: 'u-1',
          resourceVersion: '7',
        },
        related: { apiVersion: 'v1', kind: 'Node', name: 'n1' },
      });
      expect(e.metadata.namespace).to.equal('tenant');
      expect(e.metadata.name).to.match(/^vm1\.[0-9a-f]+$/);
      expect(e.series).to.equal(undefined);
    });

    it('should put events about cluster-scoped objects in the default namespace', async () => {
      const { sink, recorder } = setup();
      recorder.normal({ apiVersion: 'v1', kind: 'Node', name: 'n1' }, 'Fenced', 'Fence', 'ok');
      await recorder.flush();
      expect(sink.created[0]!.metadata.namespace).to.equal('default');
    });

    it('should truncate a note longer than 1 kB', async () => {
      const { sink, recorder } = setup();
      recorder.normal(vmi, 'R', 'A', 'x'.repeat(5000));
      await recorder.flush();
      expect(sink.created[0]!.note).to.have.length(1024);
    });
  });

  context('when the same event repeats within the series window', () => {
    it('should patch series.count and lastObservedTime on the first Event instead of creating more', async () => {
      const { clock, sink, recorder } = setup();
      recorder.warning(vmi, 'RebuildFailed', 'Rebuild', 'no capacity');
      await clock.advance(1000);
      recorder.warning(vmi, 'RebuildFailed', 'Rebuild', 'still no capacity');
      await clock.advance(1000);
      recorder.warning(vmi, 'RebuildFailed', 'Rebuild', 'still no capacity');
      await recorder.flush();
      expect(sink.created).to.have.length(1);
      const name = sink.created[0]!.metadata.name;
      expect(sink.patches.map((p) => [p.name, p.series.count])).to.deep.equal([
        [name, 2],
        [name, 3],
      ]);
      expect(sink.patches[1]!.series.lastObservedTime).to.equal(
        new Date(clock.now()).toISOString().replace('Z', '000Z'),
      );
    });

    it('should start a new series for another reason, action or object', async () => {
      const { sink, recorder } = setup();
      recorder.warning(vmi, 'A', 'X', '');
      recorder.warning(vmi, 'B', 'X', '');
      recorder.warning(vmi, 'A', 'Y', '');
      recorder.warning({ ...vmi, metadata: { ...vmi.metadata, name: 'vm2', uid: 'u-2' } }, 'A', 'X', '');
      await recorder.flush();
      expect(sink.created).to.have.length(4);
      expect(sink.patches).to.have.length(0);
    });
  });

  context('when the same event repeats after the series window', () => {
    it('should create a new Event', async () => {
      const { clock, sink, recorder } = setup();
      recorder.warning(vmi, 'A', 'X', '');
      await clock.advance(10 * 60 * 1000 + 1);
      recorder.warning(vmi, 'A', 'X', '');
      await recorder.flush();
      expect(sink.created).to.have.length(2);
      expect(sink.created[0]!.metadata.name).to.not.equal(sink.created[1]!.metadata.name);
    });
  });

  context('when an object produces a storm of events', () => {
    it('should cap API writes per object, refill over time, and carry the full count in the next patch', async () => {
      const { clock, sink, recorder } = setup({ burst: 3, refillMs: 1000 });
      for (let i = 0; i < 50; i++) recorder.warning(vmi, 'Storm', 'X', `${i}`);
      await recorder.flush();
      expect(sink.created.length + sink.patches.length).to.equal(3);
      await clock.advance(1000);
      recorder.warning(vmi, 'Storm', 'X', 'again');
      await recorder.flush();
      expect(sink.patches.at(-1)!.series.count).to.equal(51);
      recorder.warning(
        { ...vmi, metadata: { ...vmi.metadata, name: 'other', uid: 'u-9' } },
        'Storm',
        'X',
        '',
      );
      await recorder.flush();
      expect(sink.created).to.have.length(2);
    });
  });

  context('when the API fails', () => {
    it('should log and never throw into the caller', async () => {
      const { sink, recorder, logs } = setup();
      sink.fail = true;
      expect(() => recorder.warning(vmi, 'A', 'X', '')).not.to.throw();
      await recorder.flush();
      expect(logs.some((l) => l.msg === 'could not write event')).to.equal(true);
    });

    it('should create the Event again, not patch a missing one, when its first write failed', async () => {
      const { clock, sink, recorder } = setup();
      sink.fail = true;
      recorder.warning(vmi, 'RebuildFailed', 'Rebuild', 'no capacity');
      await recorder.flush();
      sink.fail = false;
      await clock.advance(1000);
      recorder.warning(vmi, 'RebuildFailed', 'Rebuild', 'still no capacity');
      await recorder.flush();
      expect(sink.created).to.have.length(1);
      expect(sink.patches).to.deep.equal([]);
    });

    it('should survive a regarding object it cannot read', async () => {
      const { recorder, logs } = setup();
      expect(() => recorder.warning(null as never, 'A', 'X', '')).not.to.throw();
      expect(logs.some((l) => l.msg === 'could not record event')).to.equal(true);
    });
  });
});
