import assert from 'node:assert/strict';
import {
  BgpEncodeError,
  BgpError,
  type CodecOptions,
  community,
  type DecodedUpdate,
  decodeMessage,
  encodeMessage,
  endOfRib,
  endOfRibFamily,
  formatCommunity,
  formatLargeCommunity,
  notificationFor,
  type Prefix,
  propagateUnknown,
  routeChanges,
  WellKnownCommunity,
} from '../../bgp/codec/index.js';
import { frame, hex, MANDATORY_ATTRIBUTES, ONE_PREFIX, updateBytes } from './fixtures/codec-bytes.js';

const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false };

describe('bgp codec: helpers and limits', () => {
  it('propagateUnknown sets Partial on optional transitive attributes and drops non-transitive ones', () => {
    const value = hex('0102');
    assert.deepStrictEqual(propagateUnknown({ type: 'unknown', typeCode: 99, flags: 0xc0, value }), {
      type: 'unknown',
      typeCode: 99,
      flags: 0xe0,
      value,
    });
    const partial = { type: 'unknown', typeCode: 99, flags: 0xe0, value } as const;
    assert.equal(propagateUnknown(partial), partial);
    assert.equal(propagateUnknown({ type: 'unknown', typeCode: 99, flags: 0x80, value }), undefined);
  });

  it('builds and prints communities', () => {
    assert.equal(community(65001, 100), 0xfde90064);
    assert.equal(formatCommunity(WellKnownCommunity.NO_EXPORT), '65535:65281');
    assert.equal(
      formatLargeCommunity({ globalAdmin: 4200000001, localData1: 1, localData2: 2 }),
      '4200000001:1:2',
    );
    assert.throws(() => community(65536, 1), BgpEncodeError);
  });

  it('notificationFor carries the error and cuts its data to fit a 4096-octet message', () => {
    const err = new BgpError(3, 4, Buffer.alloc(10000, 7), 'flags');
    const n = notificationFor(err, OPTS);
    assert.deepStrictEqual([n.code, n.subcode, n.data.length], [3, 4, 4096 - 21]);
    assert.equal(encodeMessage(n, OPTS).length, 4096);
    assert.equal(notificationFor(err, { ...OPTS, extendedMessage: true }).data.length, 10000);
  });

  it('refuses to encode what the peer could not decode', () => {
    const bad: Parameters<typeof encodeMessage>[0][] = [
      { type: 'update', withdrawn: [{ family: 'ipv6', addr: '::', len: 0 }], attributes: [], nlri: [] },
      { type: 'update', withdrawn: [], attributes: [], nlri: [{ family: 'ipv4', addr: '10.0.0.0', len: 8 }] },
      { type: 'update', withdrawn: [], attributes: [{ type: 'communities', communities: [] }], nlri: [] },
      {
        type: 'update',
        withdrawn: [],
        attributes: [{ type: 'as-path', segments: [{ type: 'sequence', asns: [] }] }],
        nlri: [],
      },
      {
        type: 'update',
        withdrawn: [],
        attributes: [
          { type: 'med', med: 1 },
          { type: 'med', med: 2 },
        ],
        nlri: [],
      },
      {
        type: 'update',
        withdrawn: [],
        attributes: [{ type: 'unknown', typeCode: 99, flags: 0x40, value: Buffer.alloc(0) }],
        nlri: [],
      },
      {
        type: 'update',
        withdrawn: [],
        attributes: [{ type: 'unknown', typeCode: 17, flags: 0xc0, value: Buffer.alloc(0) }],
        nlri: [],
      },
      {
        type: 'update',
        withdrawn: [],
        attributes: [{ type: 'unknown', typeCode: 300, flags: 0xc0, value: Buffer.alloc(0) }],
        nlri: [],
      },
      ...['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255'].flatMap(
        (nextHop): Parameters<typeof encodeMessage>[0][] => [
          { type: 'update', withdrawn: [], attributes: [{ type: 'next-hop', nextHop }], nlri: [] },
          {
            type: 'update',
            withdrawn: [],
            attributes: [{ type: 'mp-reach-nlri', family: 'ipv4', nextHop, nlri: [] }],
            nlri: [],
          },
        ],
      ),
      { type: 'notification', code: 6, subcode: 3, shutdownCommunication: 'x', data: Buffer.alloc(0) },
      {
        type: 'notification',
        code: 6,
        subcode: 2,
        shutdownCommunication: 'é'.repeat(128),
        data: Buffer.alloc(0),
      },
      { type: 'notification', code: 6, subcode: 2, shutdownCommunication: '\ud800', data: Buffer.alloc(0) },
      {
        type: 'open',
        myAs: 1,
        holdTime: 0,
        bgpId: '1.1.1.1',
        capabilities: [{ kind: 'unknown', code: 65, value: Buffer.alloc(4) }],
      },
      { type: 'route-refresh', afi: 65536, safi: 1, subtype: 0 },
    ];
    for (const msg of bad) assert.throws(() => encodeMessage(msg, OPTS), BgpEncodeError, JSON.stringify(msg));
  });

  it('applies the 4096-octet limit to OPEN and KEEPALIVE even with extended messages', () => {
    const ext = { ...OPTS, extendedMessage: true };
    const bigOpen = frame(1, Buffer.alloc(4100));
    assert.throws(
      () => decodeMessage(bigOpen, ext),
      (e: unknown) => e instanceof BgpError && e.code === 1 && e.subcode === 2,
    );
    const longKeepalive = frame(4, Buffer.alloc(1));
    assert.throws(
      () => decodeMessage(longKeepalive, ext),
      (e: unknown) => e instanceof BgpError && e.subcode === 2,
    );
    assert.throws(
      () => decodeMessage(frame(9, Buffer.alloc(0)), ext),
      (e: unknown) => e instanceof BgpError && e.subcode === 3,
    );
  });

  it('reports ROUTE-REFRESH BoRR/EoRR of the wrong length as 7/1 carrying the message (RFC 7313)', () => {
    const bytes = frame(5, hex('0002 02 01 00'));
    assert.throws(
      () => decodeMessage(bytes, OPTS),
      (e: unknown) => e instanceof BgpError && e.code === 7 && e.subcode === 1 && e.data.equals(bytes),
    );
  });
});

describe('bgp codec: route changes and End-of-RIB', () => {
  const announce = updateBytes({
    withdrawn: '10 0a02',
    attributes: `80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8  ${MANDATORY_ATTRIBUTES}`,
    nlri: ONE_PREFIX,
  });
  const v4 = (addr: string, len: number): Prefix => ({ family: 'ipv4', addr, len });
  const v6: Prefix = { family: 'ipv6', addr: '2001:db8::', len: 32 };

  function decodeUpdate(bytes: Buffer): DecodedUpdate {
    const msg = decodeMessage(bytes, OPTS);
    return msg.type === 'update' ? msg : assert.fail(msg.type);
  }

  it('collects announcements and withdrawals from the classic fields and MP attributes', () => {
    assert.deepStrictEqual(routeChanges(decodeUpdate(announce)), {
      announced: [v4('10.1.0.0', 16), v6],
      withdrawn: [v4('10.2.0.0', 16)],
    });
  });

  it('withdraws everything under treat-as-withdraw', () => {
    const broken = updateBytes({
      withdrawn: '10 0a02',
      attributes: `${MANDATORY_ATTRIBUTES} 80 04 03 000000`,
      nlri: ONE_PREFIX,
    });
    assert.deepStrictEqual(routeChanges(decodeUpdate(broken)), {
      announced: [],
      withdrawn: [v4('10.2.0.0', 16), v4('10.1.0.0', 16)],
    });
  });

  it('builds and recognises End-of-RIB markers for both families', () => {
    assert.deepStrictEqual(
      encodeMessage(endOfRib('ipv4'), OPTS),
      hex(`${'ff'.repeat(16)} 0017 02 0000 0000`),
    );
    for (const family of ['ipv4', 'ipv6'] as const) {
      assert.equal(endOfRibFamily(decodeUpdate(encodeMessage(endOfRib(family), OPTS))), family);
    }
    assert.equal(endOfRibFamily(decodeUpdate(announce)), undefined);
    assert.equal(endOfRibFamily({ ...endOfRib('ipv6'), withdrawn: [v4('10.0.0.0', 8)] }), undefined);
  });
});

describe('bgp codec: oversized input', () => {
  it('reports fields and messages beyond 65535 octets as BgpEncodeError, not RangeError', () => {
    const many: Prefix[] = Array.from({ length: 14000 }, (_, i) => ({
      family: 'ipv4',
      addr: `10.${i >>> 8}.${i & 0xff}.0`,
      len: 24,
    }));
    const ext = { ...OPTS, extendedMessage: true };
    assert.throws(
      () => encodeMessage({ type: 'update', withdrawn: [...many, ...many], attributes: [], nlri: [] }, ext),
      {
        name: 'BgpEncodeError',
        message: /^withdrawn: /,
      },
    );
    assert.throws(() => encodeMessage({ type: 'update', withdrawn: many, attributes: [], nlri: [] }, OPTS), {
      name: 'BgpEncodeError',
      message: /^update: 56023 octets exceed the 4096-octet limit/,
    });
  });
});
