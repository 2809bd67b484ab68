import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp, parseCidr, parseIp, scanCanonicalIPv4Cidr } from '../../src/netlink/address.js';
import { decodeAddress, newAddressRequest } from '../../src/netlink/address-messages.js';
import {
  attrMap,
  decodeAttrs,
  decodeMessages,
  encodeMessage,
  type NlMessage,
  readString,
} from '../../src/netlink/codec.js';
import {
  IFA_F_NODAD,
  IFINFOMSG_LEN,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_NET_NS_FD,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELNEXTHOP,
  RTM_DELROUTE,
  RTM_NEWLINK,
  RTM_NEWNEXTHOP,
  RTM_NEWROUTE,
  TRELLIS_RT_PROTO,
  VETH_INFO_PEER,
} from '../../src/netlink/constants.js';
import { NetlinkInputError } from '../../src/netlink/errors.js';
import {
  decodeLink,
  formatMac,
  newVethRequest,
  parseMac,
  setLinkRequest,
} from '../../src/netlink/link-messages.js';
import {
  decodeNextHop,
  deleteNextHopRequest,
  newNextHopRequest,
} from '../../src/netlink/nexthop-messages.js';
import {
  decodeRoute,
  encodeRouteBatch,
  type RouteBatchOp,
  type RouteInfo,
  type RouteSpec,
  routeHeader,
  routeRequest,
} from '../../src/netlink/route-messages.js';
import { type NetlinkRequest, RequestBatch } from '../../src/netlink/socket.js';

/** The request as the kernel would receive it, decoded back into a message. */
function wire(req: NetlinkRequest): NlMessage {
  const [msg] = decodeMessages(encodeMessage({ type: req.type, flags: req.flags, seq: 1, pid: 0 }, req));
  return msg!;
}

const v4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 });
const v6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });

function masked(bytes: Uint8Array, prefixLen: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = prefixLen; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

const familyArb = fc.constantFrom<4 | 6>(4, 6);

/** Valid unicast/blackhole route specs with every optional field, in canonical text. */
const routeArb: fc.Arbitrary<RouteSpec> = familyArb.chain((family) => {
  const bytes = family === 4 ? v4Bytes : v6Bytes;
  const addr = bytes.map(formatIp);
  const dst = fc
    .tuple(bytes, fc.integer({ min: 0, max: family === 4 ? 32 : 128 }))
    .map(([b, len]) => `${formatIp(masked(b, len))}/${len}`);
  const common = {
    family: fc.constant(family),
    dst,
    protocol: fc.integer({ min: 0, max: 255 }),
    table: fc.integer({ min: 1, max: 0xffffffff }),
    metric: fc.integer({ min: 0, max: 0xffffffff }),
  };
  const hop = fc.record(
    { gateway: addr, oif: fc.integer({ min: 1, max: 0x7fffffff }), weight: fc.integer({ min: 1, max: 256 }) },
    { requiredKeys: ['gateway', 'weight'] },
  );
  return fc.oneof(
    fc.record(
      {
        ...common,
        type: fc.constant('unicast' as const),
        gateway: addr,
        oif: fc.integer({ min: 1, max: 0x7fffffff }),
        src: addr,
        onlink: fc.constant(true),
        scope: fc.constantFrom('universe' as const, 'link' as const),
      },
      { requiredKeys: ['family', 'dst', 'type'] },
    ),
    fc.record(
      {
        ...common,
        type: fc.constant('unicast' as const),
        multipath: fc.array(hop, { minLength: 1, maxLength: 4 }),
      },
      { requiredKeys: ['family', 'dst', 'type', 'multipath'] },
    ),
    fc.record(
      { ...common, type: fc.constant('unicast' as const), nhid: fc.integer({ min: 1, max: 0xffffffff }) },
      { requiredKeys: ['family', 'dst', 'type', 'nhid'] },
    ),
    fc.record(
      { ...common, type: fc.constantFrom('blackhole' as const, 'unreachable' as const) },
      { requiredKeys: ['family', 'dst', 'type'] },
    ),
  );
});

/** What the kernel would report for a spec added with defaults filled in. */
function expectedInfo(spec: RouteSpec): RouteInfo {
  const hasNextHop = spec.gateway !== undefined || spec.multipath !== undefined || spec.nhid !== undefined;
  const defaultScope = spec.type === 'unicast' && !hasNextHop ? 'link' : 'universe';
  return {
    ...spec,
    type: spec.type ?? 'unicast',
    protocol: spec.protocol ?? TRELLIS_RT_PROTO,
    table: spec.table ?? 254,
    scope: spec.scope ?? defaultScope,
    ...(spec.multipath === undefined ? {} : { multipath: spec.multipath.map((h) => ({ ...h })) }),
  };
}

describe('netlink/messages', () => {
  describe('addresses', () => {
    it('refuses malformed addresses with NetlinkInputError (the grammar is tested in test/net)', () => {
      assert.deepEqual(Array.from(parseIp('10.0.255.1').bytes), [10, 0, 255, 1]);
      for (const bad of ['10.0.0', '010.0.0.1', '1.2.3.4 ', '', '1::2::3']) {
        assert.throws(() => parseIp(bad), NetlinkInputError, bad);
      }
    });

    it('parses IPv6 and rejects zone ids and the wrong family', () => {
      assert.equal(parseIp('fd00::1').family, 6);
      assert.throws(() => parseIp('fe80::1%eth0'), NetlinkInputError);
      assert.throws(() => parseIp('10.0.0.1', 6), NetlinkInputError);
      assert.throws(() => parseIp('fd00::1', 4), NetlinkInputError);
    });

    it('parses prefixes: bare address is a host prefix; bad lengths are refused', () => {
      assert.equal(parseCidr('10.1.2.3').prefixLen, 32);
      assert.equal(parseCidr('fd00::/8').prefixLen, 8);
      for (const bad of [
        '10.0.0.0/33',
        '10.0.0.0/',
        '10.0.0.0/024',
        '10.0.0.0/-1',
        'fd00::/129',
        '10.0.0.0/1a',
      ]) {
        assert.throws(() => parseCidr(bad), NetlinkInputError, bad);
      }
    });

    it('formats what it parses (IPv4 and RFC 5952 IPv6)', () => {
      fc.assert(
        fc.property(fc.oneof(v4Bytes, v6Bytes), (b) => assert.deepEqual(parseIp(formatIp(b)).bytes, b)),
      );
      assert.equal(formatIp(parseIp('FD00:0:0:0:0:0:0:1').bytes), 'fd00::1');
    });

    it('round-trips address requests through decodeAddress', () => {
      const req = newAddressRequest(
        { ifindex: 3, family: 6, address: 'fd00::5', prefixLen: 128, nodad: true, scope: 'link' },
        false,
      );
      assert.equal(req.flags, NLM_F_CREATE | NLM_F_EXCL);
      assert.deepEqual(decodeAddress(wire(req)), {
        ifindex: 3,
        family: 6,
        address: 'fd00::5',
        prefixLen: 128,
        scope: 'link',
        flags: IFA_F_NODAD,
      });
      assert.equal(
        newAddressRequest({ ifindex: 3, family: 4, address: '10.0.0.1', prefixLen: 32 }, true).flags,
        NLM_F_CREATE | NLM_F_REPLACE,
      );
    });

    it('refuses bad address input before encoding anything', () => {
      const ok = { ifindex: 3, family: 4 as const, address: '10.0.0.1', prefixLen: 32 };
      assert.throws(() => newAddressRequest({ ...ok, prefixLen: 33 }, false), NetlinkInputError);
      assert.throws(() => newAddressRequest({ ...ok, ifindex: 0 }, false), NetlinkInputError);
      assert.throws(() => newAddressRequest({ ...ok, address: 'fd00::1' }, false), NetlinkInputError);
    });
  });

  describe('routes', () => {
    it('round-trips any valid spec: decodeRoute(encode(spec)) is the spec with defaults', () => {
      fc.assert(
        fc.property(routeArb, (spec) => {
          assert.deepEqual(decodeRoute(wire(routeRequest('replace', spec))), expectedInfo(spec));
        }),
        { numRuns: 500 },
      );
    });

    it('encodes a batch byte for byte as its requests one by one, copies of a template included', () => {
      // Runs of ops sharing a spec but their IPv4 destination take the copy path; the rest
      // (IPv6, /0, another op or spec) break the run and are encoded in full.
      const v4Dst = fc
        .tuple(v4Bytes, fc.integer({ min: 0, max: 32 }))
        .map(([b, len]) => `${formatIp(masked(b, len))}/${len}`);
      const opsArb = fc.array(routeArb, { minLength: 1, maxLength: 4 }).chain((bases) =>
        fc
          .array(
            fc.record({
              op: fc.constantFrom<RouteBatchOp['op']>('replace', 'delete'),
              base: fc.nat(bases.length - 1),
              dst: fc.option(v4Dst, { nil: undefined }),
              // One field off the base: the op must not be encoded as a copy of it.
              tweak: fc.option(
                fc.oneof(
                  fc.record({ metric: fc.integer({ min: 1, max: 2 }) }),
                  fc.record({ protocol: fc.integer({ min: 1, max: 2 }) }),
                  fc.record({ table: fc.integer({ min: 1, max: 2 }) }),
                ),
                { nil: undefined },
              ),
            }),
            { minLength: 1, maxLength: 40 },
          )
          .map((picks) =>
            picks.map(({ op, base, dst, tweak }): RouteBatchOp => {
              const spec = { ...bases[base]!, ...tweak };
              return { op, route: spec.family === 4 && dst !== undefined ? { ...spec, dst } : spec };
            }),
          ),
      );
      fc.assert(
        fc.property(opsArb, (ops) => {
          const batch = encodeRouteBatch(ops);
          const oneByOne = new RequestBatch(() => '');
          for (const o of ops) oneByOne.add(routeRequest(o.op, o.route));
          assert.equal(batch.count, ops.length);
          assert.deepEqual(batch.bytes(0, ops.length), oneByOne.bytes(0, ops.length));
          ops.forEach((o, i) => {
            assert.match(batch.info(i).what, new RegExp(`^route ${o.route.dst} `));
          });
        }),
        { numRuns: 300 },
      );
    });

    it('scans canonical IPv4 prefix text to the value the general parser gives, and nothing else', () => {
      fc.assert(
        fc.property(v4Bytes, fc.integer({ min: 0, max: 32 }), (bytes, len) => {
          const clear = masked(bytes, len);
          const value = ((clear[0]! << 24) >>> 0) + (clear[1]! << 16) + (clear[2]! << 8) + clear[3]!;
          assert.equal(scanCanonicalIPv4Cidr(`${formatIp(clear)}/${len}`), value * 64 + len);
          // The lowest bit is a host bit below /32: such text is left to the general path.
          if (len < 32) {
            const withHostBit = Uint8Array.from(clear);
            withHostBit[3]! |= 1;
            assert.equal(scanCanonicalIPv4Cidr(`${formatIp(withHostBit)}/${len}`), -1);
          }
        }),
        { numRuns: 500 },
      );
      for (const text of [
        '10.0.0.1',
        '010.0.0.0/8',
        '10.0.0.0/08',
        '10.0.0.0/33',
        '10.0.0/8',
        ' 10.0.0.0/8',
        '::/0',
      ]) {
        assert.equal(scanCanonicalIPv4Cidr(text), -1, text);
      }
    });

    it('encodes a blackhole /32 with the Trellis protocol and main table by default', () => {
      const msg = wire(routeRequest('add', { family: 4, dst: '10.9.0.7/32', type: 'blackhole' }));
      assert.equal(msg.type, RTM_NEWROUTE);
      assert.equal(msg.flags, NLM_F_CREATE | NLM_F_EXCL);
      assert.deepEqual(routeHeader(msg), {
        family: 2,
        dstLen: 32,
        srcLen: 0,
        tos: 0,
        table: 254,
        protocol: TRELLIS_RT_PROTO,
        scope: 0,
        type: 6,
        flags: 0,
      });
    });

    it('puts tables above 255 only in RTA_TABLE (rtm_table 0)', () => {
      const msg = wire(routeRequest('replace', { family: 4, dst: '10.0.0.0/8', oif: 2, table: 1000 }));
      assert.equal(routeHeader(msg).table, 0);
      assert.equal(decodeRoute(msg).table, 1000);
    });

    it('matches only given fields on delete: no protocol, any scope, any type', () => {
      const msg = wire(routeRequest('delete', { family: 6, dst: 'fd00::/64' }));
      assert.equal(msg.type, RTM_DELROUTE);
      const h = routeHeader(msg);
      assert.deepEqual([h.protocol, h.scope, h.type], [0, 255, 0]);
    });

    it('uses iproute2 default scopes: link without a gateway, host for local', () => {
      assert.equal(routeHeader(wire(routeRequest('add', { family: 4, dst: '10.0.0.1', oif: 2 }))).scope, 253);
      assert.equal(
        routeHeader(wire(routeRequest('add', { family: 4, dst: '10.0.0.1', gateway: '10.1.1.1' }))).scope,
        0,
      );
      assert.equal(
        routeHeader(wire(routeRequest('add', { family: 4, dst: '10.0.0.1', type: 'local', oif: 2 }))).scope,
        254,
      );
    });

    it('describes a refused route by its destination, type and table', () => {
      assert.equal(
        routeRequest('add', { family: 4, dst: '10.0.0.0/8', type: 'blackhole', table: 7 }).what,
        'route 10.0.0.0/8 type blackhole table 7',
      );
    });

    const invalid: [string, RouteSpec][] = [
      ['host bits', { family: 4, dst: '10.0.0.1/24' }],
      ['family mismatch', { family: 6, dst: '10.0.0.0/24' }],
      ['gateway of the other family', { family: 4, dst: '10.0.0.0/24', gateway: 'fd00::1' }],
      ['blackhole with a gateway', { family: 4, dst: '10.0.0.0/24', type: 'blackhole', gateway: '10.1.1.1' }],
      ['unreachable with an oif', { family: 4, dst: '10.0.0.0/24', type: 'unreachable', oif: 2 }],
      [
        'multipath with a gateway',
        { family: 4, dst: '10.0.0.0/24', gateway: '10.1.1.1', multipath: [{ gateway: '10.1.1.2' }] },
      ],
      ['empty multipath', { family: 4, dst: '10.0.0.0/24', multipath: [] }],
      ['weight 0', { family: 4, dst: '10.0.0.0/24', multipath: [{ gateway: '10.1.1.2', weight: 0 }] }],
      ['weight 257', { family: 4, dst: '10.0.0.0/24', multipath: [{ gateway: '10.1.1.2', weight: 257 }] }],
      ['a next hop with neither gateway nor oif', { family: 4, dst: '10.0.0.0/24', multipath: [{}] }],
      ['protocol 256', { family: 4, dst: '10.0.0.0/24', protocol: 256, oif: 1 }],
      ['table 0', { family: 4, dst: '10.0.0.0/24', table: 0, oif: 1 }],
      ['negative metric', { family: 4, dst: '10.0.0.0/24', metric: -1, oif: 1 }],
      ['oif 0', { family: 4, dst: '10.0.0.0/24', oif: 0 }],
      ['nhid with a gateway', { family: 4, dst: '10.0.0.0/24', nhid: 7, gateway: '10.1.1.1' }],
      ['nhid 0', { family: 4, dst: '10.0.0.0/24', nhid: 0 }],
      ['blackhole with an nhid', { family: 4, dst: '10.0.0.0/24', type: 'blackhole', nhid: 7 }],
      ['unknown type', { family: 4, dst: '10.0.0.0/24', type: 'bogus' as RouteSpec['type'] }],
      ['unknown scope', { family: 4, dst: '10.0.0.0/24', oif: 1, scope: 'bogus' as RouteSpec['scope'] }],
    ];
    for (const [name, spec] of invalid) {
      it(`refuses ${name} with NetlinkInputError`, () => {
        assert.throws(() => routeRequest('replace', spec), NetlinkInputError);
      });
    }
  });

  describe('nexthop objects', () => {
    it('round-trips any object through decodeNextHop, with our protocol by default', () => {
      const objectArb = familyArb.chain((family) =>
        fc.record({
          id: fc.integer({ min: 1, max: 0xffffffff }),
          family: fc.constant(family),
          gateway: (family === 4 ? v4Bytes : v6Bytes).map(formatIp),
          oif: fc.integer({ min: 1, max: 0x7fffffff }),
          protocol: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
        }),
      );
      fc.assert(
        fc.property(objectArb, ({ protocol, ...spec }) => {
          const req = newNextHopRequest(protocol === undefined ? spec : { ...spec, protocol });
          const msg = wire(req);
          assert.equal(msg.type, RTM_NEWNEXTHOP);
          assert.equal(req.flags, NLM_F_CREATE | NLM_F_EXCL);
          assert.deepEqual(decodeNextHop(msg), { ...spec, protocol: protocol ?? TRELLIS_RT_PROTO });
        }),
        { numRuns: 300 },
      );
    });

    it('deletes by id alone', () => {
      const msg = wire(deleteNextHopRequest(77));
      assert.equal(msg.type, RTM_DELNEXTHOP);
      assert.deepEqual(decodeNextHop(msg), { id: 77, family: undefined, protocol: 0 });
    });

    const invalid: [string, () => unknown][] = [
      ['id 0', () => newNextHopRequest({ id: 0, family: 4, gateway: '10.0.0.1', oif: 1 })],
      ['id 2^32', () => deleteNextHopRequest(2 ** 32)],
      ['oif 0', () => newNextHopRequest({ id: 1, family: 4, gateway: '10.0.0.1', oif: 0 })],
      [
        'gateway of the other family',
        () => newNextHopRequest({ id: 1, family: 4, gateway: 'fd00::1', oif: 1 }),
      ],
      [
        'protocol 256',
        () => newNextHopRequest({ id: 1, family: 4, gateway: '10.0.0.1', oif: 1, protocol: 256 }),
      ],
    ];
    for (const [name, build] of invalid) {
      it(`refuses ${name} with NetlinkInputError`, () => {
        assert.throws(build, NetlinkInputError);
      });
    }
  });

  describe('links', () => {
    it('formats and parses MAC addresses', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) =>
          assert.deepEqual(parseMac(formatMac(b)), b),
        ),
      );
      assert.throws(() => parseMac('02:00:00:00:00'), NetlinkInputError);
      assert.throws(() => parseMac('02-00-00-00-00-01'), NetlinkInputError);
    });

    it('builds one RTM_NEWLINK carrying the peer, its MAC/MTU and its namespace fd', () => {
      const req = newVethRequest(
        {
          name: 'trl1234',
          mtu: 1450,
          mac: '02:00:00:00:00:01',
          up: true,
          peer: { name: 'eth0', mac: '02:00:00:00:00:02' },
        },
        42,
      );
      assert.equal(req.flags, NLM_F_CREATE | NLM_F_EXCL);
      const msg = wire(req);
      assert.equal(msg.type, RTM_NEWLINK);
      const host = decodeLink(msg);
      assert.deepEqual(
        [host.name, host.mtu, host.mac, host.up, host.kind],
        ['trl1234', 1450, '02:00:00:00:00:01', true, 'veth'],
      );
      const info = attrMap(decodeAttrs(attrMap(decodeAttrs(msg.payload, IFINFOMSG_LEN)).get(IFLA_LINKINFO)!));
      assert.equal(readString(info.get(IFLA_INFO_KIND)!), 'veth');
      const peerBytes = attrMap(decodeAttrs(info.get(IFLA_INFO_DATA)!)).get(VETH_INFO_PEER)!;
      const peer = decodeLink({
        type: RTM_NEWLINK,
        flags: 0,
        seq: 0,
        pid: 0,
        payload: Buffer.from(peerBytes),
      });
      assert.deepEqual([peer.name, peer.mtu, peer.mac, peer.up], ['eth0', 1450, '02:00:00:00:00:02', false]);
      const peerAttrs = attrMap(decodeAttrs(peerBytes, IFINFOMSG_LEN));
      assert.equal(Buffer.from(peerAttrs.get(IFLA_NET_NS_FD)!).readUInt32LE(0), 42);
    });

    it('refuses bad names, MTUs and indexes', () => {
      const peer = { name: 'eth0' };
      assert.throws(
        () => newVethRequest({ name: 'a-name-that-is-too-long', peer }, undefined),
        NetlinkInputError,
      );
      assert.throws(() => newVethRequest({ name: 'has/slash', peer }, undefined), NetlinkInputError);
      assert.throws(() => newVethRequest({ name: 'ok', peer: { name: '' } }, undefined), NetlinkInputError);
      assert.throws(() => newVethRequest({ name: 'ok', mtu: 67, peer }, undefined), NetlinkInputError);
      assert.throws(() => setLinkRequest(0, { up: true }), NetlinkInputError);
    });
  });
});
