import type { BaseConfig, ConfigOf, FlagSpecs } from '../runtime/config.ts';
import type { Manager } from '../runtime/manager.ts';

/**
 * Options of the operator's own controllers, parsed with the base flags (add e.g.
 * `rebuildTimeout: { flag: 'rebuild-timeout', env: 'EVACUATOR_REBUILD_TIMEOUT', schema: duration, ... }`).
 */
export const controllerFlags = {} satisfies FlagSpecs;

export type OperatorConfig = BaseConfig & ConfigOf<typeof controllerFlags>;

/**
 * Registers every controller (and the informers it needs) on the manager. Called once, before
 * `manager.start()`. No controller exists yet; the evacuation controller will be registered here.
 */
export function registerControllers(manager: Manager, config: OperatorConfig): void {
  manager.logger.debug('registering controllers', { count: 0, workers: config.workers });
}
