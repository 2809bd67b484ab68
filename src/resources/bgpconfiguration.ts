// BGPConfiguration: cluster-wide BGP settings; the object named "default" applies to all nodes.
import type { Resource } from '../datastore/types.js';
import { fields, items } from './checks.js';
import { defineResource } from './definition.js';
import { asNumberSchema, cidrSchema, holdTimeSchema } from './schema.js';

export interface CommunityAdvertisement {
  /** Attach the communities to routes within this prefix; absent: to all routes. */
  prefix?: string;
  standard?: string[];
  large?: string[];
}

export interface BGPConfigurationSpec {
  asNumber: number;
  nodeToNodeMesh: boolean;
  listenPort: number;
  communities?: CommunityAdvertisement[];
  serviceCIDRs?: string[];
  gracefulRestartTime: number;
  keepaliveTime: number;
  holdTime: number;
}
export type BGPConfiguration = Resource<BGPConfigurationSpec> & { spec: BGPConfigurationSpec };

/** Name of the cluster-wide BGPConfiguration. */
export const DEFAULT_BGP_CONFIGURATION = 'default';

const UINT16 = 0xffff;
const UINT32 = 0xffffffff;

/** Validates `65000:100` (RFC 1997) or `65000:1:2` (RFC 8092) field ranges. */
function communityProblem(text: string, parts: number, max: number): string | undefined {
  const fieldsText = text.split(':');
  const ok =
    fieldsText.length === parts &&
    fieldsText.every((f) => /^(0|[1-9][0-9]{0,9})$/.test(f) && Number(f) <= max);
  return ok ? undefined : `each of the ${parts} colon-separated fields must be a decimal 0..${max}`;
}

export const bgpConfigurationDefinition = defineResource({
  kind: 'BGPConfiguration',
  plural: 'bgpconfigurations',
  singular: 'bgpconfiguration',
  shortNames: ['bgpconfig'],
  description: 'Cluster-wide BGP settings; the object named "default" applies to every node.',
  spec: {
    type: 'object',
    properties: {
      asNumber: asNumberSchema('AS number of every node without its own.', 64512),
      nodeToNodeMesh: { type: 'boolean', default: true, description: 'Full iBGP mesh between all nodes.' },
      listenPort: { type: 'integer', minimum: 1, maximum: 65535, default: 179 },
      communities: {
        type: 'array',
        description: 'Communities attached to advertised routes.',
        items: {
          type: 'object',
          anyOf: [{ required: ['standard'] }, { required: ['large'] }],
          properties: {
            prefix: cidrSchema('Only routes within this prefix; absent: all routes.'),
            standard: {
              type: 'array',
              items: { type: 'string', pattern: '^[0-9]+:[0-9]+$', description: 'AS:VALUE, e.g. 65000:100' },
            },
            large: {
              type: 'array',
              items: {
                type: 'string',
                pattern: '^[0-9]+:[0-9]+:[0-9]+$',
                description: 'AS:V1:V2, e.g. 65000:1:2',
              },
            },
          },
        },
      },
      serviceCIDRs: { type: 'array', items: cidrSchema('Service range advertised from every node.') },
      gracefulRestartTime: {
        type: 'integer',
        description: 'Seconds peers keep our routes while we restart (12-bit field, RFC 4724).',
        minimum: 0,
        maximum: 4095,
        default: 120,
      },
      keepaliveTime: { type: 'integer', minimum: 0, maximum: 65535, default: 30 },
      holdTime: holdTimeSchema('Seconds without a message before a session is dropped.', 90),
    },
  },
  printerColumns: [
    { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
    { name: 'Mesh', type: 'boolean', jsonPath: '.spec.nodeToNodeMesh' },
    { name: 'Port', type: 'integer', jsonPath: '.spec.listenPort' },
  ],
  checks(obj, issues) {
    const spec = fields(obj.spec);
    issues.asNumber('spec.asNumber', spec['asNumber']);
    issues.timers('spec.keepaliveTime', spec['keepaliveTime'], spec['holdTime']);
    items(spec['serviceCIDRs']).forEach((c, i) => {
      issues.cidr(`spec.serviceCIDRs[${i}]`, c);
    });
    items(spec['communities']).forEach((raw, i) => {
      const entry = fields(raw);
      const path = `spec.communities[${i}]`;
      issues.cidr(`${path}.prefix`, entry['prefix']);
      for (const [key, parts, max] of [
        ['standard', 2, UINT16],
        ['large', 3, UINT32],
      ] as const) {
        items(entry[key]).forEach((c, j) => {
          const problem = typeof c === 'string' ? communityProblem(c, parts, max) : undefined;
          if (problem !== undefined) issues.add(`${path}.${key}[${j}]`, `${problem} (got "${c}")`);
        });
      }
    });
  },
});
