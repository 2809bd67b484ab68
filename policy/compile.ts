// NetworkPolicy -> intermediate representation (IR) for the endpoints of one node.
//
// Per address family, the IR holds: ipsets (defined by WHAT they select, so a relabelled or new
// pod changes members, never names or rules), shared per-policy rule lists ("policy chains",
// identified by a hash of their content) and, per local endpoint and direction, whether it is
// isolated and which policy chains may allow its traffic. Pure: no I/O.
import { IncrementalPolicyCompiler } from './incremental.js';
import type { PolicyIR } from './ir.js';
import type { ClusterState } from './model.js';

export {
  compareText,
  type Direction,
  type EndpointDirectionIR,
  type EndpointIR,
  type Family,
  type FamilyIR,
  type IpSetIR,
  type IpSetType,
  type PolicyChainIR,
  type PolicyIR,
  type RuleIR,
  type SetMember,
} from './ir.js';

/**
 * Compiles the cluster state into the IR for the node whose endpoints are the pods with a
 * `hostInterface`. Throws PolicyValidationError (and produces nothing) on invalid input.
 * To compile a changing cluster repeatedly, keep an IncrementalPolicyCompiler instead.
 */
export function compilePolicies(state: ClusterState): PolicyIR {
  return new IncrementalPolicyCompiler().compile(state);
}
