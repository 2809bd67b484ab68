// The lab ToR's pure parts: the FRR config it writes, the JSON it reads back from vtysh (samples
// captured from FRR 8.4 in a lab run), and the convergence check over a cluster's BGP view.
import assert from 'node:assert/strict';
import { type BgpView, learnedRoutes, missingRoutes, type NodeBgpView } from '../../agent/lab/bgp-view.js';
import { parseTorRoutes, parseTorSessions, TorOutputError, torConfigFiles } from '../../agent/lab/tor.js';
import type { RouteStatus } from '../../bgp/speaker/index.js';

const IPV4_TABLE = `{
 "vrfId": 0, "vrfName": "default", "tableVersion": 2, "routerId": "10.249.0.1", "localAS": 65000,
 "routes": { "10.244.80.64/26": [{"valid":true,"bestpath":true,"pathFrom":"external","network":"10.244.80.64/26","peerId":"10.249.0.11","path":"65001","origin":"IGP","nexthops":[{"ip":"10.249.0.11","afi":"ipv4","used":true}]}]
,"10.244.173.128/26": [{"valid":true,"pathFrom":"external","network":"10.244.173.128/26","peerId":"10.249.0.13","path":"65003 65002","origin":"IGP","nexthops":[{"ip":"10.249.0.13","afi":"ipv4","used":true}]},{"stale":true,"valid":true,"bestpath":true,"pathFrom":"external","network":"10.244.173.128/26","peerId":"10.249.0.12","path":"65002","origin":"IGP","nexthops":[{"ip":"10.249.0.12","afi":"ipv4","used":true}]}]
 }  } `;

const IPV6_TABLE = `{
 "vrfId": 0, "localAS": 65000,
 "routes": { "fd00:10:244::1500/122": [{"valid":true,"bestpath":true,"pathFrom":"external","network":"fd00:10:244::1500/122","peerId":"fd00:249::12","path":"65002","origin":"IGP","nexthops":[{"ip":"fd00:249::12","afi":"ipv6","scope":"global"},{"ip":"fe80::9cca:e9ff:fe04:7f2c","afi":"ipv6","scope":"link-local","used":true}]}]
 }  } `;

const SUMMARY = `{
"ipv4Unicast":{ "routerId":"10.249.0.1", "as":65000,
  "peers":{ "10.249.0.12":{ "dynamicPeer":true, "remoteAs":65002, "localAs":65000, "pfxRcd":1, "pfxSnt":2, "state":"Established", "peerState":"OK" },
            "10.249.0.11":{ "dynamicPeer":true, "remoteAs":65001, "localAs":65000, "pfxRcd":0, "pfxSnt":2, "state":"Active", "peerState":"OK" } } }
,
"ipv6Unicast":{ "routerId":"10.249.0.1", "as":65000,
  "peers":{ "fd00:249::11":{ "dynamicPeer":true, "remoteAs":65001, "localAs":65000, "pfxRcd":1, "pfxSnt":2, "state":"Established", "peerState":"OK" } } }
}`;

describe('lab ToR: FRR config', () => {
  const files = torConfigFiles({
    asNumber: 65000,
    routerId: '10.250.0.1',
    listenRanges: { ipv4: '10.250.0.0/24', ipv6: 'fd00:250::/64' },
    keepaliveTime: 3,
    holdTime: 9,
  });
  const lines = files.bgpd.split('\n').map((l) => l.trim());

  it('accepts any AS but its own from each family’s range, with the given timers', () => {
    assert.ok(lines.includes('router bgp 65000'));
    assert.ok(lines.includes('bgp router-id 10.250.0.1'));
    for (const [group, range] of [
      ['NODES4', '10.250.0.0/24'],
      ['NODES6', 'fd00:250::/64'],
    ]) {
      assert.ok(lines.includes(`neighbor ${group} peer-group`));
      assert.ok(lines.includes(`neighbor ${group} remote-as external`));
      assert.ok(lines.includes(`neighbor ${group} timers 3 9`));
      assert.ok(lines.includes(`bgp listen range ${range} peer-group ${group}`));
    }
  });

  it('activates each peer group in its own family only and accepts eBGP routes without policy', () => {
    assert.ok(lines.includes('no bgp ebgp-requires-policy'));
    assert.ok(lines.includes('no bgp default ipv4-unicast'));
    const v4 = lines.indexOf('address-family ipv4 unicast');
    const v6 = lines.indexOf('address-family ipv6 unicast');
    assert.equal(lines[v4 + 1], 'neighbor NODES4 activate');
    assert.equal(lines[v6 + 1], 'neighbor NODES6 activate');
    assert.equal(lines.filter((l) => l.endsWith('activate')).length, 2);
  });
});

describe('lab ToR: reading FRR JSON', () => {
  it('keeps the best path of each prefix with its next hops, AS path and staleness', () => {
    assert.deepEqual(parseTorRoutes(IPV4_TABLE), [
      { prefix: '10.244.173.128/26', nextHops: ['10.249.0.12'], asPath: [65002], stale: true },
      { prefix: '10.244.80.64/26', nextHops: ['10.249.0.11'], asPath: [65001], stale: false },
    ]);
  });

  it('leaves out an IPv6 path’s link-local next hop', () => {
    assert.deepEqual(parseTorRoutes(IPV6_TABLE), [
      { prefix: 'fd00:10:244::1500/122', nextHops: ['fd00:249::12'], asPath: [65002], stale: false },
    ]);
  });

  it('reads an empty table', () => {
    assert.deepEqual(parseTorRoutes('{"vrfId": 0, "routes": {}}'), []);
  });

  it('lists sessions of both families with state and prefixes received', () => {
    assert.deepEqual(parseTorSessions(SUMMARY), [
      { address: '10.249.0.11', remoteAs: 65001, state: 'Active', prefixesReceived: 0 },
      { address: '10.249.0.12', remoteAs: 65002, state: 'Established', prefixesReceived: 1 },
      { address: 'fd00:249::11', remoteAs: 65001, state: 'Established', prefixesReceived: 1 },
    ]);
  });

  it('rejects what is not FRR’s JSON with TorOutputError', () => {
    assert.throws(() => parseTorRoutes('% Unknown command: show bgp ipv4 unicast json'), TorOutputError);
    assert.throws(() => parseTorRoutes('[]'), TorOutputError);
    assert.throws(() => parseTorRoutes('{"routes": {"10.0.0.0/8": {}}}'), TorOutputError);
    assert.throws(() => parseTorSessions('{"ipv4Unicast": 3}'), TorOutputError);
  });
});

describe('lab BGP view', () => {
  const path = (from: string, nextHop: string, asPath: number[], best = true) => ({
    best,
    multipath: false,
    from,
    nextHop,
    asPath,
    origin: 'igp',
    communities: [],
    largeCommunities: [],
    stale: false,
  });

  it('learned routes are the best paths from peers, not our own announcements', () => {
    const routes: RouteStatus[] = [
      { prefix: '10.244.1.0/26', paths: [path('local', '0.0.0.0', [])] },
      {
        prefix: '10.244.2.0/26',
        paths: [path('tor-ipv4', '10.250.0.12', [65000, 65002]), path('other', '10.250.0.9', [1], false)],
      },
    ];
    assert.deepEqual(learnedRoutes(routes), [
      { prefix: '10.244.2.0/26', nextHop: '10.250.0.12', asPath: [65000, 65002] },
    ]);
  });

  const node = (name: string, asNumber: number, learned: string[]): NodeBgpView => ({
    node: name,
    asNumber,
    sessions: [],
    learned: learned.map((prefix) => ({ prefix, nextHop: '10.250.0.1', asPath: [65000] })),
  });
  const blocks = [
    { cidr: '10.244.1.0/26', node: 'n1' },
    { cidr: '10.244.2.0/26', node: 'n2' },
  ];
  const converged: BgpView = {
    nodes: [node('n1', 65001, ['10.244.2.0/26']), node('n2', 65002, ['10.244.1.0/26'])],
    tor: {
      asNumber: 65000,
      sessions: [],
      routes: [
        { prefix: '10.244.1.0/26', nextHops: ['10.250.0.11'], asPath: [65001], stale: false },
        { prefix: '10.244.2.0/26', nextHops: ['10.250.0.12'], asPath: [65002], stale: false },
      ],
    },
  };

  it('has converged when the ToR and every other node hold every block', () => {
    assert.deepEqual(missingRoutes(converged, blocks), []);
  });

  it('names a block the ToR lacks or learned from another AS than its node’s', () => {
    const tor = {
      ...converged.tor,
      routes: [{ prefix: '10.244.1.0/26', nextHops: [], asPath: [65002], stale: false }],
    };
    assert.deepEqual(missingRoutes({ ...converged, tor }, blocks), [
      'tor: 10.244.1.0/26 from n1',
      'tor: 10.244.2.0/26 from n2',
    ]);
  });

  it('names a block a node has not learned', () => {
    const nodes = [node('n1', 65001, []), converged.nodes[1] as NodeBgpView];
    assert.deepEqual(missingRoutes({ ...converged, nodes }, blocks), ['n1: 10.244.2.0/26 of n2']);
  });
});
