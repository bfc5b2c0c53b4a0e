import { duration, type BaseConfig, type ConfigOf, type FlagSpecs } from '../runtime/config.ts';
import type { Manager } from '../runtime/manager.ts';
import { DEFAULT_CONFIG } from '../evacuation/observed.ts';
import { registerEvacuationController } from '../evacuation/controller.ts';

/** Options of the operator's own controllers, parsed with the base flags. */
export const controllerFlags = {
  rebuildTimeout: {
    flag: 'rebuild-timeout',
    env: 'EVACUATOR_REBUILD_TIMEOUT',
    help: 'How long a rebuilt VMI may take to be Running on its new node before the evacuation fails (everything is kept for a retry).',
    schema: duration,
    default: `${DEFAULT_CONFIG.rebuildTimeoutSeconds}s`,
  },
  cleanupGrace: {
    flag: 'cleanup-grace-period',
    env: 'EVACUATOR_CLEANUP_GRACE_PERIOD',
    help: 'After the failed node rejoins, how long its kubelet gets to remove the old instance before the operator forces it.',
    schema: duration,
    default: `${DEFAULT_CONFIG.cleanupGraceSeconds}s`,
  },
  recheckPeriod: {
    flag: 'recheck-period',
    env: 'EVACUATOR_RECHECK_PERIOD',
    help: 'How often a waiting evacuation looks again at what no watch reports promptly (fencing, a node rejoining).',
    schema: duration,
    default: `${DEFAULT_CONFIG.recheckSeconds}s`,
  },
  startRetry: {
    flag: 'start-retry-period',
    env: 'EVACUATOR_START_RETRY_PERIOD',
    help: 'A VM start request (runStrategy Manual) that produced no new VMI is sent again after this long.',
    schema: duration,
    default: `${DEFAULT_CONFIG.startRetrySeconds}s`,
  },
} satisfies FlagSpecs;

export type OperatorConfig = BaseConfig & ConfigOf<typeof controllerFlags>;

/** Registers every controller (and the informers it needs) on the manager, before `manager.start()`. */
export function registerControllers(manager: Manager, config: OperatorConfig): void {
  registerEvacuationController(manager, {
    workers: config.workers,
    decide: {
      rebuildTimeoutSeconds: config.rebuildTimeout / 1000,
      cleanupGraceSeconds: config.cleanupGrace / 1000,
      recheckSeconds: config.recheckPeriod / 1000,
      startRetrySeconds: config.startRetry / 1000,
    },
  });
}
