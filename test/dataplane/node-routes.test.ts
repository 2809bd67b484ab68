import assert from 'node:assert/strict';
import { desiredNodeRoutes, diffNodeRoutes } from '../../agent/dataplane/node-routes.js';
import type { IPAMBlockSpec } from '../../agent/ipam/types.js';
import { type RouteInfo, TRELLIS_RT_PROTO } from '../../src/netlink/index.js';

const block = (
  cidr: string,
  affinity: string | null,
  allocations: IPAMBlockSpec['allocations'] = [],
): IPAMBlockSpec => ({
  cidr,
  pool: 'p',
  affinity,
  allocations,
  unallocated: [],
  nextSeq: 1,
});

const nodes = new Map([
  ['n1', { ipv4: '10.0.0.1', ipv6: 'fd00::1' }],
  ['n2', { ipv4: '10.0.0.2', ipv6: 'fd00::2' }],
  ['n3', { ipv4: '10.0.0.3' }],
]);

const kernel = (dst: string, extra: Partial<RouteInfo>): RouteInfo => ({
  family: dst.includes(':') ? 6 : 4,
  dst,
  type: 'unicast',
  protocol: TRELLIS_RT_PROTO,
  table: 254,
  scope: 'universe',
  ...extra,
});

describe('host-gw node routes', () => {
  it('blackholes own blocks, routes others via their node, and borrowed addresses via the borrower', () => {
    const routes = desiredNodeRoutes({
      node: 'n1',
      nodes,
      blocks: [
        block('10.244.0.0/26', 'n1'),
        block('10.244.0.64/26', 'n2', [
          { ordinal: 5, handle: 'h1', seq: 1, attributes: { node: 'n2' } },
          { ordinal: 6, handle: 'h2', seq: 2, attributes: { node: 'n3' } },
          { ordinal: 7, handle: 'h3', seq: 3, attributes: { node: 'n1' } },
        ]),
        block('fd00:244::/122', 'n2'),
        block('fd00:244::40/122', 'n3'),
        block('10.244.1.0/26', null),
      ],
    });
    assert.deepEqual(routes, [
      { family: 4, dst: '10.244.0.0/26', kind: 'blackhole' },
      { family: 4, dst: '10.244.0.64/26', kind: 'via', gateway: '10.0.0.2', node: 'n2' },
      { family: 4, dst: '10.244.0.70/32', kind: 'via', gateway: '10.0.0.3', node: 'n3' },
      { family: 6, dst: 'fd00:244::/122', kind: 'via', gateway: 'fd00::2', node: 'n2' },
    ]);
  });

  it('diff replaces what is missing or wrong, deletes what is stale, leaves pod routes alone', () => {
    const desired = desiredNodeRoutes({
      node: 'n1',
      nodes,
      blocks: [block('10.244.0.0/26', 'n1'), block('10.244.0.64/26', 'n2')],
    });
    const ops = diffNodeRoutes(desired, [
      kernel('10.244.0.0/26', { type: 'blackhole' }),
      kernel('10.244.0.64/26', { gateway: '10.0.0.3' }),
      kernel('10.244.9.0/26', { gateway: '10.0.0.3' }),
      kernel('10.244.0.2/32', { oif: 7, scope: 'link' }),
    ]);
    assert.deepEqual(ops, [
      {
        op: 'replace',
        route: { family: 4, dst: '10.244.0.64/26', gateway: '10.0.0.2', protocol: TRELLIS_RT_PROTO },
      },
      {
        op: 'delete',
        route: { family: 4, dst: '10.244.9.0/26', type: 'unicast', protocol: TRELLIS_RT_PROTO },
      },
    ]);
    assert.deepEqual(
      diffNodeRoutes(desired, [
        kernel('10.244.0.0/26', { type: 'blackhole' }),
        kernel('10.244.0.64/26', { gateway: '10.0.0.2' }),
      ]),
      [],
    );
  });
});
