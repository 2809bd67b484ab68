// Public API of the policy applier: the PolicyApplier (I/O edge) and its pure decisions.
export { type ApplyReport, PolicyApplier, type PolicyApplierOptions } from './applier.js';
export { type ApplyStep, PolicyApplyError } from './errors.js';
export { type ApplyPlan, type FamilyPlan, isPlanEmpty, planChanges, planRepair } from './plan.js';
export { type CommandResult, type CommandRunner, execaRunner } from './runner.js';
export {
  type BuiltinRule,
  type FamilyState,
  type KernelSave,
  type OwnedState,
  parseFilterSave,
  parseIpsetSave,
  type SetState,
  stateOfKernel,
  stateOfRendered,
} from './state.js';
