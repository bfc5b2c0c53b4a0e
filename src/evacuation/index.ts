// The InstanceEvacuation functional core: what the controller imports.
export { decide, statusEqual, type Plan } from './decide.ts';
export type { Action, ActionType, JsonPatchOp, PlannedEvent } from './actions.ts';
export { DEFAULT_CONFIG, type DecideConfig, type Observed } from './observed.ts';
export { buildRebuiltVmi } from './rebuild-vmi.ts';
export { vmPatch, vmWithOverrides, vmWithSteering, vmWithoutSteering } from './vm-patches.ts';
export { takeSnapshot } from './snapshot.ts';
export { setCondition, rfc3339 } from './conditions.ts';
