// Our resource model (trellis.network/v1): types, definitions, registry and validation.
export type { BGPConfiguration, BGPConfigurationSpec, CommunityAdvertisement } from './bgpconfiguration.js';
export { bgpConfigurationDefinition, DEFAULT_BGP_CONFIGURATION } from './bgpconfiguration.js';
export type { BGPPeer, BGPPeerSpec, NextHopMode, PeerPassword, SecretKeyRef } from './bgppeer.js';
export { bgpPeerDefinition } from './bgppeer.js';
export type { AffinityState, BlockAffinity, BlockAffinitySpec } from './blockaffinity.js';
export { blockAffinityDefinition, blockAffinityName } from './blockaffinity.js';
export type { KindInfo, PrinterColumn, ResourceDefinition } from './definition.js';
export { ValidationError, type ValidationIssue } from './errors.js';
export type { Allocation, AllocationAttributes, IPAMBlock, IPAMBlockSpec } from './ipamblock.js';
export { ipamBlockDefinition } from './ipamblock.js';
export type { IPPool, IPPoolSpec } from './ippool.js';
export { BLOCK_SIZE_RANGE, ipPoolDefinition } from './ippool.js';
export { allKinds, findKind, kindInfo, resourceDefinition, resourceDefinitions } from './registry.js';
export {
  API_GROUP,
  API_VERSION,
  type JsonSchema,
  type LabelSelector,
  type LabelSelectorRequirement,
} from './schema.js';
export type { TrellisNode, TrellisNodeSpec } from './trellisnode.js';
export { trellisNodeDefinition } from './trellisnode.js';
export { validateAs, validateResource } from './validate.js';
