// Which gateway a learned IPv6 path installs with (bgp/speaker/forwarding), and how a session's
// interface and our link-local next hop are found from an address dump (bgp/kernel). Pure.
import assert from 'node:assert/strict';
import { parsePrefix } from '../../bgp/codec/index.js';
import { sessionInterfaceOf } from '../../bgp/kernel/index.js';
import { type ForwardingPath, kernelRouteOf } from '../../bgp/speaker/index.js';
import type { AddressInfo } from '../../src/netlink/index.js';

const V6 = parsePrefix('2001:db8:70::/64');
const route = (...paths: ForwardingPath[]) => kernelRouteOf({ prefix: V6, key: '2001:db8:70::/64', paths });

describe('bgp/speaker kernelRouteOf: IPv6 next hop forms', () => {
  it('global only (GoBGP): via the global, the kernel picks the interface', () => {
    assert.deepEqual(route({ nextHop: '2001:db8::2' })?.nextHops, [{ gateway: '2001:db8::2' }]);
  });

  it('global + link-local (FRR, BIRD) with the session interface: via the link-local on it', () => {
    assert.deepEqual(route({ nextHop: '2001:db8::2', linkLocalNextHop: 'fe80::2', ifindex: 7 })?.nextHops, [
      { gateway: 'fe80::2', ifindex: 7 },
    ]);
  });

  it('global + link-local without a known interface: via the global', () => {
    assert.deepEqual(route({ nextHop: '2001:db8::2', linkLocalNextHop: 'fe80::2' })?.nextHops, [
      { gateway: '2001:db8::2' },
    ]);
  });

  it('link-local only (in the global field, or beside "::"): needs the interface, else nothing', () => {
    assert.deepEqual(route({ nextHop: 'fe80::2', ifindex: 7 })?.nextHops, [
      { gateway: 'fe80::2', ifindex: 7 },
    ]);
    assert.deepEqual(route({ nextHop: '::', linkLocalNextHop: 'fe80::2', ifindex: 7 })?.nextHops, [
      { gateway: 'fe80::2', ifindex: 7 },
    ]);
    assert.equal(route({ nextHop: 'fe80::2' }), undefined);
    assert.equal(route({ nextHop: '::', linkLocalNextHop: 'fe80::2' }), undefined);
  });

  it('an IPv4-mapped next hop (GoBGP, IPv6 over an IPv4 session) is no gateway', () => {
    assert.equal(route({ nextHop: '::ffff:10.251.3.2' }), undefined);
  });

  it('a run of one-path changes reuses the hop list only while next hop and interface repeat', () => {
    const a = route({ nextHop: 'fe80::2', ifindex: 7 })?.nextHops;
    assert.equal(route({ nextHop: 'fe80::2', ifindex: 7 })?.nextHops, a);
    assert.deepEqual(route({ nextHop: 'fe80::2', ifindex: 8 })?.nextHops, [
      { gateway: 'fe80::2', ifindex: 8 },
    ]);
    assert.equal(route({ nextHop: 'fe80::2' }), undefined);
    assert.equal(route({ nextHop: 'fe80::2' }), undefined);
    assert.deepEqual(route({ nextHop: 'fe80::2', linkLocalNextHop: 'fe80::3', ifindex: 7 })?.nextHops, [
      { gateway: 'fe80::3', ifindex: 7 },
    ]);
    assert.equal(route({ nextHop: 'fe80::2', ifindex: 7 })?.nextHops, a);
  });

  it('ECMP keeps only the members it can forward over', () => {
    assert.deepEqual(
      route(
        { nextHop: '2001:db8::2', linkLocalNextHop: 'fe80::2', ifindex: 7 },
        { nextHop: '::ffff:10.0.0.3' },
        { nextHop: '2001:db8::4' },
      )?.nextHops,
      [{ gateway: 'fe80::2', ifindex: 7 }, { gateway: '2001:db8::4' }],
    );
  });
});

const addr = (
  ifindex: number,
  address: string,
  prefixLen: number,
  scope: AddressInfo['scope'],
): AddressInfo => ({
  ifindex,
  family: address.includes(':') ? 6 : 4,
  address,
  prefixLen,
  scope,
  flags: 0,
});

describe('bgp/kernel sessionInterfaceOf', () => {
  const dump = [
    addr(1, '::1', 128, 'host'),
    addr(2, '10.251.1.1', 24, 'universe'),
    addr(2, 'fd00:251:1::1', 64, 'universe'),
    addr(2, 'fe80::1', 64, 'link'),
    addr(3, 'fd00:251:2::1', 64, 'universe'),
    addr(3, 'fe80::3', 64, 'link'),
  ];

  it('finds the interface of the local address and our link-local on it for an on-link peer', () => {
    assert.deepEqual(sessionInterfaceOf(dump, 'fd00:251:2::1', 'fd00:251:2::2'), {
      ifindex: 3,
      linkLocal: 'fe80::3',
    });
    // Non-canonical text of the same address.
    assert.deepEqual(sessionInterfaceOf(dump, 'fd00:251:1:0::1', 'fd00:251:1::2'), {
      ifindex: 2,
      linkLocal: 'fe80::1',
    });
  });

  it('gives no link-local for a peer off the subnet (multihop)', () => {
    assert.deepEqual(sessionInterfaceOf(dump, 'fd00:251:1::1', 'fd00:99::2'), { ifindex: 2 });
    assert.deepEqual(sessionInterfaceOf(dump, '10.251.1.1', '10.9.0.2'), { ifindex: 2 });
  });

  it('an on-link IPv4 session shares the link too: its interface and our link-local', () => {
    assert.deepEqual(sessionInterfaceOf(dump, '10.251.1.1', '10.251.1.2'), {
      ifindex: 2,
      linkLocal: 'fe80::1',
    });
  });

  it('is undefined when no interface holds the local address', () => {
    assert.equal(sessionInterfaceOf(dump, 'fd00:251:9::1', 'fd00:251:9::2'), undefined);
  });
});
