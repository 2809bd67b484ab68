// BGPPeer: an external BGP speaker that some or all of our nodes open a session with.
import type { Resource } from '../datastore/types.js';
import { fields } from './checks.js';
import { defineResource } from './definition.js';
import {
  asNumberSchema,
  holdTimeSchema,
  ipAddressSchema,
  type LabelSelector,
  labelSelectorSchema,
  objectNameSchema,
} from './schema.js';

export type NextHopMode = 'Auto' | 'Self' | 'Keep';

export interface SecretKeyRef {
  namespace?: string;
  name: string;
  key: string;
}

/** TCP-MD5 password source: exactly one of the two. */
export interface PeerPassword {
  secretKeyRef?: SecretKeyRef;
  file?: string;
}

export interface BGPPeerSpec {
  peerIP: string;
  asNumber: number;
  port: number;
  node?: string;
  nodeSelector?: LabelSelector;
  password?: PeerPassword;
  gracefulRestart?: { enabled: boolean; restartTime: number };
  keepaliveTime?: number;
  holdTime?: number;
  sourceAddress?: string;
  nextHopMode: NextHopMode;
  routeReflectorClient: boolean;
}
export type BGPPeer = Resource<BGPPeerSpec> & { spec: BGPPeerSpec };

export const bgpPeerDefinition = defineResource({
  kind: 'BGPPeer',
  plural: 'bgppeers',
  singular: 'bgppeer',
  shortNames: ['peer'],
  description: 'An external BGP speaker; node or nodeSelector chooses which of our nodes peer with it.',
  spec: {
    type: 'object',
    required: ['peerIP', 'asNumber'],
    not: { required: ['node', 'nodeSelector'] },
    properties: {
      peerIP: ipAddressSchema('Address of the remote speaker.'),
      asNumber: asNumberSchema('AS number of the remote speaker.'),
      port: { type: 'integer', minimum: 1, maximum: 65535, default: 179 },
      node: objectNameSchema('Only this node peers; absent with nodeSelector absent: every node.'),
      nodeSelector: labelSelectorSchema('Which of our nodes peer.'),
      password: {
        type: 'object',
        description: 'TCP-MD5 (RFC 2385) password: from a Secret or a file on the node.',
        oneOf: [{ required: ['secretKeyRef'] }, { required: ['file'] }],
        properties: {
          secretKeyRef: {
            type: 'object',
            required: ['name', 'key'],
            properties: {
              namespace: { type: 'string' },
              name: { type: 'string', minLength: 1 },
              key: { type: 'string', minLength: 1 },
            },
          },
          file: { type: 'string', minLength: 1, pattern: '^/', description: 'Absolute path on the node.' },
        },
      },
      gracefulRestart: {
        type: 'object',
        required: ['restartTime'],
        properties: {
          enabled: { type: 'boolean', default: true },
          restartTime: {
            type: 'integer',
            minimum: 0,
            maximum: 4095,
            description: 'Seconds (RFC 4724, 12 bits).',
          },
        },
      },
      keepaliveTime: { type: 'integer', minimum: 0, maximum: 65535 },
      holdTime: holdTimeSchema('Overrides the BGPConfiguration hold time for this peer.'),
      sourceAddress: ipAddressSchema('Local address the session is opened from.'),
      nextHopMode: {
        type: 'string',
        enum: ['Auto', 'Self', 'Keep'],
        default: 'Auto',
        description: 'Auto: self for eBGP, keep for iBGP; Self/Keep force it.',
      },
      routeReflectorClient: { type: 'boolean', default: false },
    },
  },
  printerColumns: [
    { name: 'PeerIP', type: 'string', jsonPath: '.spec.peerIP' },
    { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
    { name: 'Node', type: 'string', jsonPath: '.spec.node' },
    { name: 'NextHop', type: 'string', jsonPath: '.spec.nextHopMode' },
  ],
  checks(obj, issues) {
    const spec = fields(obj.spec);
    const peer = issues.address('spec.peerIP', spec['peerIP']);
    const source = issues.address('spec.sourceAddress', spec['sourceAddress']);
    if (peer !== undefined && source !== undefined && peer.family !== source.family) {
      issues.add('spec.sourceAddress', `must be an IPv${peer.family} address like peerIP (got "${source}")`);
    }
    issues.asNumber('spec.asNumber', spec['asNumber']);
    issues.selector('spec.nodeSelector', spec['nodeSelector']);
    issues.timers('spec.keepaliveTime', spec['keepaliveTime'], spec['holdTime']);
  },
});
