// Valid objects of every kind, for tests to mutate into invalid ones.
import type { Resource } from '../../src/datastore/types.js';

const ours = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: 'trellis.network/v1',
  kind,
  metadata: { name },
  spec,
});

export const validSamples: readonly Resource[] = [
  ours('IPPool', 'p1', { cidr: '10.244.0.0/16' }),
  ours('IPPool', 'v6', {
    cidr: 'fd00:10::/48',
    blockSize: 120,
    natOutgoing: true,
    nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
  }),
  ours('BGPConfiguration', 'default', {
    asNumber: 4200000000,
    communities: [{ prefix: '10.244.0.0/16', standard: ['65000:100'], large: ['65000:1:2'] }],
    serviceCIDRs: ['10.96.0.0/12', 'fd00:96::/108'],
    holdTime: 0,
  }),
  ours('BGPPeer', 'tor', {
    peerIP: '192.0.2.1',
    asNumber: 65001,
    nodeSelector: { matchLabels: { rack: 'r1' } },
    password: { secretKeyRef: { name: 'bgp', key: 'tor' } },
    gracefulRestart: { restartTime: 60 },
    keepaliveTime: 10,
    holdTime: 30,
    sourceAddress: '192.0.2.10',
    nextHopMode: 'Self',
  }),
  ours('BGPPeer', 'rr6', {
    peerIP: 'fd00::1',
    asNumber: 64512,
    node: 'node-1',
    password: { file: '/etc/trellis/pw' },
  }),
  ours('TrellisNode', 'node-1', {
    addresses: { ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' },
    asNumber: 64513,
    routeReflectorClusterID: '10.0.0.1',
    podCIDRHint: '10.244.1.0/24',
  }),
  ours('IPAMBlock', '10-244-0-64-26', {
    cidr: '10.244.0.64/26',
    pool: 'p1',
    affinity: 'node-1',
    allocations: [{ ordinal: 0, handle: 'k8s-pod-a', seq: 0, attributes: { node: 'node-1', pod: 'a' } }],
    unallocated: [1, 2, 3],
    nextSeq: 1,
    reserved: [63],
  }),
  ours('IPAMBlock', 'fd00--40-122', {
    cidr: 'fd00::40/122',
    pool: 'v6',
    affinity: null,
    allocations: [],
    unallocated: [],
    nextSeq: 0,
  }),
  ours('BlockAffinity', 'node-1.10-244-0-64-26', {
    node: 'node-1',
    cidr: '10.244.0.64/26',
    state: 'confirmed',
  }),
];

export const withSpec = (obj: Resource, patch: Record<string, unknown>): Resource => ({
  ...obj,
  spec: { ...(obj.spec as Record<string, unknown>), ...patch },
});

export const sample = (kind: string): Resource => {
  const found = validSamples.find((s) => s.kind === kind);
  if (found === undefined) throw new Error(`no sample of ${kind}`);
  return structuredClone(found);
};
