// The IPAM resources as this module uses them (shapes owned by src/resources).
export {
  type AffinityState,
  type Allocation,
  type AllocationAttributes,
  API_VERSION,
  type BlockAffinity,
  type BlockAffinitySpec,
  blockAffinityName,
  type IPAMBlock,
  type IPAMBlockSpec,
  type IPPool,
  type IPPoolSpec,
} from '../../src/resources/index.js';

export const KIND_POOL = 'IPPool';
export const KIND_BLOCK = 'IPAMBlock';
export const KIND_AFFINITY = 'BlockAffinity';
