// IPAMBlock: one block of a pool, its owner and its allocations. The partition invariants of
// the lists (every ordinal in exactly one place) are agent/ipam's checkBlock; here: shape,
// name and ranges, which any writer must respect.
import type { Resource } from '../datastore/types.js';
import { blockName } from '../net/index.js';
import { asInteger, fields, type IssueList, items } from './checks.js';
import { defineResource } from './definition.js';
import { cidrSchema, type JsonSchema, objectNameSchema } from './schema.js';

export interface AllocationAttributes {
  node: string;
  namespace?: string;
  pod?: string;
  containerID?: string;
  ifname?: string;
}

export interface Allocation {
  ordinal: number;
  handle: string;
  seq: number;
  attributes?: AllocationAttributes;
}

export interface IPAMBlockSpec {
  cidr: string;
  pool: string;
  affinity: string | null;
  allocations: Allocation[];
  unallocated: number[];
  nextSeq: number;
  reserved?: number[];
}
export type IPAMBlock = Resource<IPAMBlockSpec> & { spec: IPAMBlockSpec };

const ordinalList = (description: string): JsonSchema => ({
  type: 'array',
  description,
  items: { type: 'integer', minimum: 0 },
});

export const ipamBlockDefinition = defineResource({
  kind: 'IPAMBlock',
  plural: 'ipamblocks',
  singular: 'ipamblock',
  shortNames: ['block'],
  description:
    'A block of a pool: owner and allocations. Named after its CIDR (10.244.0.64/26 → 10-244-0-64-26).',
  spec: {
    type: 'object',
    required: ['cidr', 'pool', 'affinity', 'allocations', 'unallocated', 'nextSeq'],
    properties: {
      cidr: cidrSchema('The block.'),
      pool: objectNameSchema('Name of the IPPool the block was carved from.'),
      affinity: { type: 'string', nullable: true, description: 'Owning node, or null when unowned.' },
      allocations: {
        type: 'array',
        items: {
          type: 'object',
          required: ['ordinal', 'handle', 'seq'],
          properties: {
            ordinal: { type: 'integer', minimum: 0, description: 'Offset of the address in the block.' },
            handle: { type: 'string', minLength: 1 },
            seq: {
              type: 'integer',
              minimum: 0,
              description: 'Unique per block; tells re-allocations apart.',
            },
            attributes: {
              type: 'object',
              required: ['node'],
              properties: {
                node: { type: 'string' },
                namespace: { type: 'string' },
                pod: { type: 'string' },
                containerID: { type: 'string' },
                ifname: { type: 'string' },
              },
            },
          },
        },
      },
      unallocated: ordinalList('FIFO free list: the longest-idle address is reused first.'),
      nextSeq: { type: 'integer', minimum: 0 },
      reserved: ordinalList('Ordinals never handed out.'),
    },
  },
  printerColumns: [
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.pool' },
    { name: 'Affinity', type: 'string', jsonPath: '.spec.affinity' },
  ],
  checks(obj, issues) {
    const spec = fields(obj.spec);
    const block = issues.cidr('spec.cidr', spec['cidr']);
    if (block === undefined) return;
    const expected = blockName(block);
    if (obj.metadata?.name !== undefined && obj.metadata.name !== expected) {
      issues.add(
        'metadata.name',
        `must be "${expected}", the name of block ${block} (got "${obj.metadata.name}")`,
      );
    }
    const size = block.size;
    const checkOrdinal = (path: string, value: unknown): void => {
      const n = asInteger(value);
      if (n !== undefined && BigInt(n) >= size)
        issues.add(path, `must be < ${size}, the size of ${block} (got ${n})`);
    };
    const nextSeq = asInteger(spec['nextSeq']);
    items(spec['allocations']).forEach((raw, i) => {
      const a = fields(raw);
      checkOrdinal(`spec.allocations[${i}].ordinal`, a['ordinal']);
      const seq = asInteger(a['seq']);
      if (seq !== undefined && nextSeq !== undefined && seq >= nextSeq) {
        issues.add(`spec.allocations[${i}].seq`, `must be < nextSeq ${nextSeq} (got ${seq})`);
      }
    });
    checkOrdinals(issues, 'spec.unallocated', spec['unallocated'], checkOrdinal);
    checkOrdinals(issues, 'spec.reserved', spec['reserved'], checkOrdinal);
  },
});

function checkOrdinals(
  issues: IssueList,
  path: string,
  list: unknown,
  checkOrdinal: (path: string, value: unknown) => void,
): void {
  const seen = new Set<unknown>();
  items(list).forEach((o, i) => {
    checkOrdinal(`${path}[${i}]`, o);
    if (seen.has(o)) issues.add(`${path}[${i}]`, `lists ordinal ${String(o)} twice`);
    seen.add(o);
  });
}
