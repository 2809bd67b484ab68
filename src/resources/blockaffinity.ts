// BlockAffinity: a node's claim on a block, confirmed in two phases.
import type { Resource } from '../datastore/types.js';
import { blockName } from '../net/index.js';
import { fields } from './checks.js';
import { defineResource } from './definition.js';
import { cidrSchema, objectNameSchema } from './schema.js';

export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

export interface BlockAffinitySpec {
  node: string;
  cidr: string;
  state: AffinityState;
}
export type BlockAffinity = Resource<BlockAffinitySpec> & { spec: BlockAffinitySpec };

/** `<node>.<blockName>`: one affinity per (node, block). */
export const blockAffinityName = (node: string, cidr: string): string => `${node}.${blockName(cidr)}`;

export const blockAffinityDefinition = defineResource({
  kind: 'BlockAffinity',
  plural: 'blockaffinities',
  singular: 'blockaffinity',
  shortNames: ['affinity'],
  description: "A node's claim on a block: pending, then confirmed; pendingDeletion while released.",
  spec: {
    type: 'object',
    required: ['node', 'cidr', 'state'],
    properties: {
      node: objectNameSchema('The claiming node.'),
      cidr: cidrSchema('The claimed block.'),
      state: { type: 'string', enum: ['pending', 'confirmed', 'pendingDeletion'] },
    },
  },
  printerColumns: [
    { name: 'Node', type: 'string', jsonPath: '.spec.node' },
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
    { name: 'State', type: 'string', jsonPath: '.spec.state' },
  ],
  checks(obj, issues) {
    const spec = fields(obj.spec);
    const block = issues.cidr('spec.cidr', spec['cidr']);
    const node = spec['node'];
    if (block === undefined || typeof node !== 'string') return;
    const expected = blockAffinityName(node, block.toString());
    if (obj.metadata?.name !== undefined && obj.metadata.name !== expected) {
      issues.add('metadata.name', `must be "${expected}" (<node>.<blockName>) (got "${obj.metadata.name}")`);
    }
  },
});
