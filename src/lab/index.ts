// Network-namespace lab: nodes and pods as namespaces joined by veths, for tests and `trellis lab`.
export {
  type CleanupOptions,
  type CleanupReport,
  cleanupAll,
  cleanupByPrefix,
  cleanupStale,
  labDown,
} from './cleanup.js';
export type { CommandResult } from './commands.js';
export { LabCommandError, LabError, LabInputError, LabStateError, LabTornDownError } from './errors.js';
export {
  type BridgeMember,
  type ConnectOptions,
  type Endpoint,
  type ExecOptions,
  Lab,
  type LabOptions,
  type LabProcess,
  type NamespaceOptions,
  type ProcessExit,
  type SpawnOptions,
} from './lab.js';
export {
  describeLeftovers,
  findLeftovers,
  hasLeftovers,
  type Leftovers,
  type RunToCheck,
} from './leftovers.js';
export { MAX_IFNAME_LENGTH, makeRunPrefix } from './names.js';
export { isRunning, type ProcessIdentity } from './proc.js';
export { type ListenerWait, waitForListener } from './ready.js';
export { type RunRecord, runsOfThisProcess } from './registry.js';
export { isRoot, requireRoot } from './require-root.js';
export { DEFAULT_STATE_DIR } from './state.js';
