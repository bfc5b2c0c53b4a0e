import { expect } from 'chai';
import { FakeClock } from './clock.ts';
import { Metrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

describe('Metrics', () => {
  it('should expose controller-runtime and workqueue series under their usual names', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const c = m.controllerMetrics('evacuation');
    c.maxConcurrentReconciles(4);
    c.reconciled('success', 0.02);
    const clock = new FakeClock();
    const q = new WorkQueue({ name: 'evacuation', clock, metrics: m.queueMetrics('evacuation') });
    m.trackQueue('evacuation', q);
    q.add('a');
    q.add('b');
    await q.get();
    await clock.advance(3000);
    m.setLeader('kubevirt-evacuator', true);
    const { body, contentType } = await m.render();
    expect(contentType).to.match(/^text\/plain/);
    for (const line of [
      'controller_runtime_reconcile_total{controller="evacuation",result="success"} 1',
      'controller_runtime_reconcile_total{controller="evacuation",result="error"} 0',
      'controller_runtime_reconcile_errors_total{controller="evacuation"} 0',
      'controller_runtime_max_concurrent_reconciles{controller="evacuation"} 4',
      'controller_runtime_active_workers{controller="evacuation"} 0',
      'controller_runtime_reconcile_time_seconds_count{controller="evacuation"} 1',
      'workqueue_depth{name="evacuation"} 1',
      'workqueue_adds_total{name="evacuation"} 2',
      'workqueue_unfinished_work_seconds{name="evacuation"} 3',
      'workqueue_longest_running_processor_seconds{name="evacuation"} 3',
      'leader_election_master_status{name="kubevirt-evacuator"} 1',
    ]) {
      expect(body).to.include(line);
    }
    expect(body).to.include('workqueue_queue_duration_seconds_bucket');
    q.done('a');
    const after = (await m.render()).body;
    expect(after).to.include('workqueue_work_duration_seconds_count{name="evacuation"} 1');
    expect(after).to.include('workqueue_unfinished_work_seconds{name="evacuation"} 0');
  });

  it('should include the default process metrics unless disabled', async () => {
    expect((await new Metrics().render()).body).to.include('process_cpu_user_seconds_total');
    expect((await new Metrics({ defaultMetrics: false }).render()).body).not.to.include(
      'process_cpu_user_seconds_total',
    );
  });
});
