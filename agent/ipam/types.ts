// Shapes of the IPAM resources (trellis.network/v1) as this module reads and writes them.
import type { LabelSelector } from '../../policy/model.js';
import type { Resource } from '../../src/datastore/types.js';

export const API_VERSION = 'trellis.network/v1';
export const KIND_POOL = 'IPPool';
export const KIND_BLOCK = 'IPAMBlock';
export const KIND_AFFINITY = 'BlockAffinity';

export interface IPPoolSpec {
  cidr: string;
  blockSize?: number;
  /** Absent: every node. */
  nodeSelector?: LabelSelector;
  disabled?: boolean;
  natOutgoing?: boolean;
  disableBGPExport?: boolean;
}

export interface AllocationAttributes {
  node: string;
  namespace?: string;
  pod?: string;
  containerID?: string;
  ifname?: string;
}

export interface Allocation {
  /** Offset of the address inside the block. */
  ordinal: number;
  handle: string;
  /** Unique per block over its lifetime: tells a re-allocation of the same ordinal apart (ABA). */
  seq: number;
  attributes?: AllocationAttributes;
}

export interface IPAMBlockSpec {
  cidr: string;
  pool: string;
  /** Owning node, or null when the block is unowned. */
  affinity: string | null;
  allocations: Allocation[];
  /** FIFO free list: allocate from the head, release to the tail, so the longest-idle address is reused first. */
  unallocated: number[];
  nextSeq: number;
  /** Ordinals never handed out. */
  reserved?: number[];
}

export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

export interface BlockAffinitySpec {
  node: string;
  cidr: string;
  state: AffinityState;
}

export type IPPool = Resource<IPPoolSpec>;
export type IPAMBlock = Resource<IPAMBlockSpec> & { spec: IPAMBlockSpec };
export type BlockAffinity = Resource<BlockAffinitySpec> & { spec: BlockAffinitySpec };
