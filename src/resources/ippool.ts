// IPPool: a CIDR that pod addresses come from, carved into fixed-size blocks per node.
import type { Resource } from '../datastore/types.js';
import { type IPFamily, type Prefix, parsePrefix } from '../net/index.js';
import { asInteger, fields } from './checks.js';
import { defineResource } from './definition.js';
import { cidrSchema, type LabelSelector, labelSelectorSchema } from './schema.js';

export interface IPPoolSpec {
  cidr: string;
  blockSize: number;
  nodeSelector?: LabelSelector;
  disabled: boolean;
  natOutgoing: boolean;
  disableBGPExport: boolean;
}
export type IPPool = Resource<IPPoolSpec> & { spec: IPPoolSpec };

export const BLOCK_SIZE_RANGE: Readonly<Record<IPFamily, { min: number; max: number; default: number }>> = {
  4: { min: 20, max: 32, default: 26 },
  6: { min: 116, max: 128, default: 122 },
};

/** Pools may not overlap these: their addresses are never routed between nodes. */
const FORBIDDEN_RANGES: readonly { prefix: Prefix; what: string }[] = [
  { prefix: parsePrefix('169.254.0.0/16'), what: 'IPv4 link-local' },
  { prefix: parsePrefix('fe80::/10'), what: 'IPv6 link-local' },
  { prefix: parsePrefix('127.0.0.0/8'), what: 'IPv4 loopback' },
  { prefix: parsePrefix('224.0.0.0/4'), what: 'IPv4 multicast' },
  { prefix: parsePrefix('ff00::/8'), what: 'IPv6 multicast' },
  // Holds ::1 and ::ffff:0:0/96; also, RFC 5952 text of some addresses here starts with '::',
  // so block names would start with '-'.
  { prefix: parsePrefix('::/8'), what: 'IETF-reserved IPv6 range' },
];

const familyOf = (cidr: unknown): IPFamily | undefined => {
  if (typeof cidr !== 'string') return undefined;
  try {
    return parsePrefix(cidr, { hostBits: 'mask' }).family;
  } catch {
    return undefined;
  }
};

export const ipPoolDefinition = defineResource({
  kind: 'IPPool',
  plural: 'ippools',
  singular: 'ippool',
  shortNames: ['pool'],
  description: 'A range of pod addresses, handed to nodes in blocks of blockSize.',
  spec: {
    type: 'object',
    required: ['cidr'],
    properties: {
      cidr: cidrSchema('The pool, in canonical form (no host bits). Must not overlap link-local ranges.'),
      blockSize: {
        type: 'integer',
        description:
          'Prefix length of each block: 20..32 for IPv4 (default 26), 116..128 for IPv6 (default 122).',
        minimum: 20,
        maximum: 128,
      },
      nodeSelector: labelSelectorSchema('Which nodes may take blocks from this pool.'),
      disabled: {
        type: 'boolean',
        default: false,
        description: 'No new blocks or addresses from this pool.',
      },
      natOutgoing: { type: 'boolean', default: false, description: 'Masquerade traffic leaving the pool.' },
      disableBGPExport: {
        type: 'boolean',
        default: false,
        description: 'Do not advertise this pool over BGP.',
      },
    },
  },
  printerColumns: [
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
    { name: 'BlockSize', type: 'integer', jsonPath: '.spec.blockSize' },
    { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled' },
    { name: 'NAT', type: 'boolean', jsonPath: '.spec.natOutgoing' },
  ],
  dependentDefaults(spec) {
    const family = familyOf(spec['cidr']);
    if (spec['blockSize'] === undefined && family !== undefined)
      spec['blockSize'] = BLOCK_SIZE_RANGE[family].default;
  },
  checks(obj, issues) {
    const spec = fields(obj.spec);
    const pool = issues.cidr('spec.cidr', spec['cidr']);
    issues.selector('spec.nodeSelector', spec['nodeSelector']);
    if (pool === undefined) return;
    for (const r of FORBIDDEN_RANGES) {
      if (r.prefix.overlaps(pool))
        issues.add('spec.cidr', `must not overlap ${r.what} ${r.prefix} (got "${pool}")`);
    }
    const blockSize = asInteger(spec['blockSize']);
    if (blockSize === undefined) return;
    const range = BLOCK_SIZE_RANGE[pool.family];
    if (blockSize < range.min || blockSize > range.max) {
      issues.add(
        'spec.blockSize',
        `must be between ${range.min} and ${range.max} for an IPv${pool.family} pool (got ${blockSize})`,
      );
    } else if (blockSize < pool.length) {
      issues.add(
        'spec.blockSize',
        `must be >= the pool's prefix length ${pool.length}, a block cannot be larger than its pool (got ${blockSize})`,
      );
    }
  },
});
