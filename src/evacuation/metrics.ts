// Domain metrics, in the spirit of medik8s' nodehealthcheck_*: how many evacuations are in each
// phase, how they ended, and how long each phase took.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { PHASES } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuation, InstanceEvacuationStatus } from '../api/v1alpha1/types.ts';

export class EvacuationMetrics {
  readonly #results: Counter<'result'>;
  readonly #phaseDuration: Histogram<'phase'>;

  constructor(registry: Registry, listEvacuations: () => readonly InstanceEvacuation[]) {
    const registers = [registry];
    new Gauge({
      name: 'evacuator_instanceevacuations',
      help: 'InstanceEvacuations by phase, as the operator’s cache sees them',
      labelNames: ['phase'],
      registers,
      collect() {
        const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
        for (const e of listEvacuations()) {
          const phase = e.status?.phase ?? 'Pending';
          counts.set(phase, (counts.get(phase) ?? 0) + 1);
        }
        for (const [phase, count] of counts) this.set({ phase }, count);
      },
    });
    this.#results = new Counter({
      name: 'evacuator_instanceevacuation_results_total',
      help: 'InstanceEvacuations that reached a terminal phase (Completed or Failed), or Rebuilt',
      labelNames: ['result'],
      registers,
    });
    this.#phaseDuration = new Histogram({
      name: 'evacuator_instanceevacuation_phase_duration_seconds',
      help: 'How long InstanceEvacuations stayed in each phase',
      labelNames: ['phase'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers,
    });
  }

  /** Called after a status write that moved an evacuation from one phase to another. */
  observeTransition(before: InstanceEvacuationStatus | undefined, after: InstanceEvacuationStatus): void {
    const from = before?.phase;
    const to = after.phase;
    if (from === undefined || to === undefined || from === to) return;
    const started = after.phaseTimestamps?.[from] ?? before?.phaseTimestamps?.[from];
    const ended = after.phaseTimestamps?.[to];
    if (started && ended)
      this.#phaseDuration.observe(
        { phase: from },
        Math.max(0, (Date.parse(ended) - Date.parse(started)) / 1000),
      );
    if (to === 'Completed' || to === 'Failed' || to === 'Rebuilt') this.#results.inc({ result: to });
  }
}
