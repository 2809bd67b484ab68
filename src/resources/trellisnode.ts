// TrellisNode: a node's routing identity (addresses, AS); its labels feed node selectors.
import type { Resource } from '../datastore/types.js';
import { fields } from './checks.js';
import { defineResource } from './definition.js';
import { asNumberSchema, cidrSchema } from './schema.js';

export interface TrellisNodeSpec {
  addresses: { ipv4?: string; ipv6?: string };
  asNumber?: number;
  routeReflectorClusterID?: string;
  podCIDRHint?: string;
}
export type TrellisNode = Resource<TrellisNodeSpec> & { spec: TrellisNodeSpec };

export const trellisNodeDefinition = defineResource({
  kind: 'TrellisNode',
  plural: 'trellisnodes',
  singular: 'trellisnode',
  shortNames: ['tnode'],
  description: "A node's routing identity. metadata.labels are the node's labels for selectors.",
  spec: {
    type: 'object',
    required: ['addresses'],
    properties: {
      addresses: {
        type: 'object',
        description: 'Node addresses with their prefix length; at least one.',
        anyOf: [{ required: ['ipv4'] }, { required: ['ipv6'] }],
        properties: {
          ipv4: { type: 'string', description: 'e.g. 10.0.0.1/24' },
          ipv6: { type: 'string', description: 'e.g. fd00::1/64' },
        },
      },
      asNumber: asNumberSchema("Overrides BGPConfiguration's AS number for this node."),
      routeReflectorClusterID: {
        type: 'string',
        format: 'ipv4',
        description: 'Makes the node a route reflector with this cluster ID (dotted IPv4 form).',
      },
      podCIDRHint: cidrSchema('Preferred range for this node when claiming blocks.'),
    },
  },
  printerColumns: [
    { name: 'IPv4', type: 'string', jsonPath: '.spec.addresses.ipv4' },
    { name: 'IPv6', type: 'string', jsonPath: '.spec.addresses.ipv6' },
    { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
  ],
  checks(obj, issues) {
    const spec = fields(obj.spec);
    const addresses = fields(spec['addresses']);
    issues.interfaceAddress('spec.addresses.ipv4', addresses['ipv4'], 4);
    issues.interfaceAddress('spec.addresses.ipv6', addresses['ipv6'], 6);
    issues.asNumber('spec.asNumber', spec['asNumber']);
    issues.cidr('spec.podCIDRHint', spec['podCIDRHint']);
  },
});
