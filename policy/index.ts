// Public API of the NetworkPolicy compiler for the CLI and the applier.
export { type Cidr, type Family, type IpAddress, parseCidr, parseIp } from './cidr.js';
export {
  compilePolicies,
  type Direction,
  type EndpointDirectionIR,
  type EndpointIR,
  type FamilyIR,
  type IpSetIR,
  type IpSetType,
  type PolicyChainIR,
  type PolicyIR,
  type RuleIR,
  type SetMember,
} from './compile.js';
export {
  type CompiledDocuments,
  clusterStateFromDocuments,
  compileFromDocuments,
  HOST_INTERFACE_ANNOTATION,
} from './documents.js';
export { evaluatePacket, type Packet, type Verdict } from './evaluate.js';
export { type PolicyIssue, type PolicyIssueCode, PolicyValidationError } from './issues.js';
export * from './model.js';
export {
  CHAIN_FORWARD,
  CHAIN_FROM_WORKLOAD,
  CHAIN_TO_WORKLOAD,
  DEFAULT_ACCEPT_MARK,
  DEFAULT_WORKLOAD_IFACE_PREFIX,
  type HookRule,
  MAX_CHAIN_NAME,
  MAX_SET_NAME,
  type RenderedChain,
  type RenderedFamily,
  type RenderedPolicy,
  type RenderedSet,
  type RenderOptions,
  renderFilterRestore,
  renderIpsetRestore,
  renderPolicy,
} from './render.js';
export { canonicalSelector, selectorMatches } from './selector.js';
export { defaultPolicyTypes, parseNetworkPolicy } from './validate.js';
