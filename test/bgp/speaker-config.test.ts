// The speaker's config model: the standalone YAML file (defaults, field-naming errors) and the
// translation of cluster resources (mesh, passive side, BGPPeer selection, per-rack AS, RR,
// announcements).
import assert from 'node:assert/strict';
import {
  BgpConfigError,
  type ClusterBgpResources,
  parseSpeakerConfig,
  speakerConfigFromCluster,
} from '../../bgp/config/index.js';
import type { BGPPeer } from '../../src/resources/bgppeer.js';
import type { IPAMBlock } from '../../src/resources/ipamblock.js';
import type { TrellisNode } from '../../src/resources/trellisnode.js';

function configError(fn: () => unknown): BgpConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BgpConfigError, `expected BgpConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected BgpConfigError');
}

const MINIMAL = 'routerId: 192.0.2.1\nlocalAs: 65001\n';

describe('bgp/config standalone file', () => {
  it('fills every default', () => {
    const cfg = parseSpeakerConfig(`${MINIMAL}peers:\n  - { address: 192.0.2.2, as: 65002 }\n`, 'x.yaml');
    assert.deepEqual(cfg.listen, { address: '::', port: 179 });
    assert.deepEqual(cfg.kernel, { enabled: true, table: 254, metric: 20, resyncInterval: 60 });
    assert.equal(cfg.gracefulRestartTime, 120);
    assert.deepEqual(cfg.peers[0], {
      name: '192.0.2.2',
      address: '192.0.2.2',
      as: 65002,
      port: 179,
      passive: false,
      holdTime: 90,
      keepaliveTime: 30,
      gracefulRestart: { enabled: true, restartTime: 120 },
      nextHop: 'auto',
      routeReflectorClient: false,
      families: ['ipv4'],
    });
  });

  it('reads a full file: peers, announcements with communities and MED, policies', () => {
    const cfg = parseSpeakerConfig(
      `${MINIMAL}
clusterId: 192.0.2.1
listen: { address: 127.0.0.1, port: 1790 }
kernel: { enabled: false }
controlSocket: /run/trellis-bgp.sock
peers:
  - name: tor6
    address: 2001:db8::2
    as: 65002
    passive: true
    password: s3cret
    holdTime: 9
    keepaliveTime: 3
    nextHop: self
    routeReflectorClient: true
    importPolicy: only-pods
announcements:
  - { prefix: 10.244.1.0/26, communities: ['65000:100'], largeCommunities: ['65000:1:2'], med: 5 }
policies:
  only-pods:
    defaultAction: reject
    statements:
      - match: { prefixes: [{ prefix: 10.244.0.0/16, le: 32 }] }
        action: accept
        set: { addCommunities: ['65000:7'], localPref: 200 }
`,
      'full.yaml',
    );
    assert.equal(cfg.peers[0]!.families[0], 'ipv6');
    assert.equal(cfg.peers[0]!.password, 's3cret');
    assert.deepEqual(cfg.announcements[0], {
      prefix: '10.244.1.0/26',
      communities: ['65000:100'],
      largeCommunities: ['65000:1:2'],
      med: 5,
    });
    assert.equal(cfg.policies['only-pods']!.defaultAction, 'reject');
    assert.equal(cfg.policies['only-pods']!.statements[0]!.set!.localPref, 200);
  });

  for (const [what, yaml, path, message] of [
    ['missing router id', 'localAs: 1\n', 'routerId', /required/],
    ['bad AS', 'routerId: 192.0.2.1\nlocalAs: 0\n', 'localAs', /between 1 and 4294967295/],
    ['unknown field', `${MINIMAL}peer: []\n`, 'peer', /not a known field/],
    [
      'negative resync interval',
      `${MINIMAL}kernel: { resyncInterval: -1 }\n`,
      'kernel.resyncInterval',
      /between 0 and 86400/,
    ],
    [
      'peer address',
      `${MINIMAL}peers: [{ address: 300.1.1.1, as: 1 }]\n`,
      'peers[0].address',
      /IPv4 address/,
    ],
    [
      'keepalive vs hold',
      `${MINIMAL}peers: [{ address: 192.0.2.2, as: 1, holdTime: 9, keepaliveTime: 4 }]\n`,
      'peers[0].keepaliveTime',
      /holdTime\/3 = 3/,
    ],
    [
      'duplicate peer',
      `${MINIMAL}peers: [{ address: 192.0.2.2, as: 1, name: a }, { address: 192.0.2.2, as: 1, name: b }]\n`,
      'peers[1].address',
      /duplicates/,
    ],
    [
      'family vs session',
      `${MINIMAL}peers: [{ address: 192.0.2.2, as: 1, families: [ipv6] }]\n`,
      'peers[0].families',
      /ipv6 session/,
    ],
    [
      'policy reference',
      `${MINIMAL}peers: [{ address: 192.0.2.2, as: 1, exportPolicy: nope }]\n`,
      'peers[0].exportPolicy',
      /no policy named "nope"/,
    ],
    [
      'host bits',
      `${MINIMAL}announcements: [{ prefix: 10.0.0.1/24 }]\n`,
      'announcements[0].prefix',
      /host bits/,
    ],
    [
      'community range',
      `${MINIMAL}announcements: [{ prefix: 10.0.0.0/24, communities: ['65536:1'] }]\n`,
      'announcements[0].communities[0]',
      /0\.\.65535/,
    ],
    [
      'ge/le',
      `${MINIMAL}policies: { p: { statements: [{ action: accept, match: { prefixes: [{ prefix: 10.0.0.0/16, ge: 8 }] } }] } }\n`,
      'policies.p.statements[0].match.prefixes[0]',
      /ge <= le/,
    ],
    ['yaml syntax', 'routerId: [\n', '', /Flow sequence|YAML|Unexpected|Missing/i],
  ] as const) {
    it(`names the field of a bad config: ${what}`, () => {
      const err = configError(() => parseSpeakerConfig(yaml, 'bad.yaml'));
      const issue = err.issues.find((i) => i.path === path);
      assert.ok(issue, `no issue at "${path}" in: ${err.message}`);
      assert.match(issue.message, message);
      assert.match(err.message, /^bad\.yaml: /);
    });
  }
});

const node = (
  name: string,
  ipv4: string,
  extra: Partial<TrellisNode['spec']> = {},
  labels = {},
): TrellisNode => ({
  apiVersion: 'trellis.network/v1',
  kind: 'TrellisNode',
  metadata: { name, labels },
  spec: { addresses: { ipv4, ipv6: `fd00::${ipv4.split('.')[3]!.split('/')[0]}/64` }, ...extra },
});

const peer = (
  name: string,
  spec: Partial<BGPPeer['spec']> & { peerIP: string; asNumber: number },
): BGPPeer => ({
  apiVersion: 'trellis.network/v1',
  kind: 'BGPPeer',
  metadata: { name },
  spec: { port: 179, nextHopMode: 'Auto', routeReflectorClient: false, ...spec },
});

const block = (
  cidr: string,
  affinity: string | null,
  allocations: IPAMBlock['spec']['allocations'] = [],
): IPAMBlock => ({
  apiVersion: 'trellis.network/v1',
  kind: 'IPAMBlock',
  metadata: { name: cidr.replace(/[./]/g, '-') },
  spec: { cidr, pool: 'p', affinity, allocations, unallocated: [], nextSeq: 0 },
});

describe('bgp/config from cluster resources', () => {
  const nodes = [
    node('n1', '10.0.0.1/24', {}, { rack: 'a' }),
    node('n2', '10.0.0.2/24'),
    node('n3', '10.0.0.3/24'),
  ];
  const base: ClusterBgpResources = { nodeName: 'n2', nodes, peers: [], blocks: [] };

  it('meshes with every other node per family; the lower address of each pair is passive', () => {
    const cfg = speakerConfigFromCluster(base);
    assert.equal(cfg.routerId, '10.0.0.2');
    assert.equal(cfg.localAs, 64512);
    const summary = cfg.peers.map(
      (p) => `${p.name} ${p.address} ${p.as} ${p.passive ? 'passive' : 'active'}`,
    );
    assert.deepEqual(summary.sort(), [
      'n1-ipv4 10.0.0.1 64512 active',
      'n1-ipv6 fd00::1 64512 active',
      'n3-ipv4 10.0.0.3 64512 passive',
      'n3-ipv6 fd00::3 64512 passive',
    ]);
    // The other side of each pair decides the opposite way.
    const n1 = speakerConfigFromCluster({ ...base, nodeName: 'n1' });
    assert.equal(n1.peers.find((p) => p.address === '10.0.0.2')!.passive, true);
  });

  it('drops the mesh when nodeToNodeMesh is false and peers as BGPPeers select', () => {
    const cfg = speakerConfigFromCluster({
      ...base,
      nodeName: 'n1',
      configuration: {
        asNumber: 64512,
        nodeToNodeMesh: false,
        listenPort: 179,
        gracefulRestartTime: 60,
        keepaliveTime: 10,
        holdTime: 30,
      },
      peers: [
        peer('tor-a', {
          peerIP: '10.0.0.254',
          asNumber: 65000,
          nodeSelector: { matchLabels: { rack: 'a' } },
          nextHopMode: 'Self',
        }),
        peer('tor-b', {
          peerIP: '10.0.0.253',
          asNumber: 65000,
          nodeSelector: { matchLabels: { rack: 'b' } },
        }),
        peer('only-n3', { peerIP: '10.0.0.252', asNumber: 65000, node: 'n3' }),
        peer('global', { peerIP: '10.0.0.251', asNumber: 65000, password: { file: '/pw' } }),
      ],
      resolvePassword: (pw) => `from ${pw.file}`,
    });
    assert.deepEqual(
      cfg.peers.map((p) => [p.name, p.nextHop, p.holdTime, p.password]),
      [
        ['tor-a', 'self', 30, undefined],
        ['global', 'auto', 30, 'from /pw'],
      ],
    );
    assert.equal(cfg.gracefulRestartTime, 60);
  });

  it('makes node-AS overrides eBGP, and a reflector node treats other nodes as clients', () => {
    const rack = [
      node('n1', '10.0.0.1/24', { asNumber: 65101, routeReflectorClusterID: '1.1.1.1' }),
      node('n2', '10.0.0.2/24', { asNumber: 65102 }),
    ];
    const cfg = speakerConfigFromCluster({ nodeName: 'n1', nodes: rack, peers: [], blocks: [] });
    assert.equal(cfg.localAs, 65101);
    assert.equal(cfg.clusterId, '1.1.1.1');
    const n2 = cfg.peers.find((p) => p.address === '10.0.0.2')!;
    assert.deepEqual([n2.as, n2.routeReflectorClient], [65102, true]);
  });

  it('announces affine blocks, borrowed addresses and service CIDRs with matching communities', () => {
    const cfg = speakerConfigFromCluster({
      ...base,
      configuration: {
        asNumber: 64512,
        nodeToNodeMesh: true,
        listenPort: 179,
        gracefulRestartTime: 120,
        keepaliveTime: 30,
        holdTime: 90,
        serviceCIDRs: ['10.96.0.0/12'],
        communities: [{ prefix: '10.244.0.0/16', standard: ['65000:100'] }, { large: ['65000:1:2'] }],
      },
      blocks: [
        block('10.244.2.0/26', 'n2'),
        block('10.244.1.0/26', 'n1', [{ ordinal: 5, handle: 'h', seq: 1, attributes: { node: 'n2' } }]),
        block('10.244.3.0/26', 'n3'),
      ],
    });
    assert.deepEqual(
      cfg.announcements.map((a) => `${a.prefix} ${a.communities.join(',')} ${a.largeCommunities.join(',')}`),
      ['10.244.2.0/26 65000:100 65000:1:2', '10.244.1.5/32 65000:100 65000:1:2', '10.96.0.0/12  65000:1:2'],
    );
  });

  it('refuses a password it cannot resolve, naming the BGPPeer', () => {
    const err = configError(() =>
      speakerConfigFromCluster({
        ...base,
        peers: [peer('p', { peerIP: '10.0.0.9', asNumber: 1, password: { file: '/x' } })],
      }),
    );
    assert.equal(err.issues[0]!.path, 'BGPPeer/p.spec.password');
  });
});
