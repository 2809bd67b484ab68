import assert from 'node:assert/strict';
import {
  BgpError,
  type CodecOptions,
  type DecodedUpdate,
  decodeMessage,
  routeChanges,
} from '../../bgp/codec/index.js';
import { hex, MANDATORY_ATTRIBUTES, ONE_PREFIX, updateBytes } from './fixtures/codec-bytes.js';

const EXTERNAL: CodecOptions = { fourOctetAs: true, extendedMessage: false };
const INTERNAL: CodecOptions = { ...EXTERNAL, internalPeer: true };

function decodeUpdate(bytes: Buffer, opts: CodecOptions = EXTERNAL): DecodedUpdate {
  const msg = decodeMessage(bytes, opts);
  if (msg.type !== 'update') assert.fail(`decoded a ${msg.type}`);
  return msg;
}

/** An announcing UPDATE: the mandatory attributes minus `without`, plus `extra`. */
function announce(extra: string, without: string[] = []): Buffer {
  const parts = {
    origin: '40 01 01 00',
    asPath: '40 02 06 02 01 0000fde9',
    nextHop: '40 03 04 0a000001',
  } as Record<string, string>;
  for (const w of without) delete parts[w];
  return updateBytes({ attributes: `${Object.values(parts).join(' ')} ${extra}`, nlri: ONE_PREFIX });
}

function assertThrowsBgp(fn: () => unknown, code: number, subcode: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BgpError, `expected BgpError, got ${String(err)}`);
    assert.deepStrictEqual([err.code, err.subcode], [code, subcode], err.message);
    return true;
  });
}

interface Case {
  readonly name: string;
  readonly bytes: Buffer;
  readonly opts?: CodecOptions;
  readonly action: 'treat-as-withdraw' | 'attribute-discard';
  readonly typeCode: number;
  readonly subcode: number;
}

const CASES: Case[] = [
  // 7.1 ORIGIN
  {
    name: 'ORIGIN of length 2',
    bytes: announce('40 01 02 0000', ['origin']),
    action: 'treat-as-withdraw',
    typeCode: 1,
    subcode: 5,
  },
  {
    name: 'ORIGIN value 3',
    bytes: announce('40 01 01 03', ['origin']),
    action: 'treat-as-withdraw',
    typeCode: 1,
    subcode: 6,
  },
  // 3.c flags
  {
    name: 'ORIGIN marked optional',
    bytes: announce('c0 01 01 00', ['origin']),
    action: 'treat-as-withdraw',
    typeCode: 1,
    subcode: 4,
  },
  {
    name: 'ORIGIN with Partial set',
    bytes: announce('60 01 01 00', ['origin']),
    action: 'treat-as-withdraw',
    typeCode: 1,
    subcode: 4,
  },
  // 7.2 AS_PATH
  {
    name: 'AS_PATH segment type 5',
    bytes: announce('40 02 06 05 01 0000fde9', ['asPath']),
    action: 'treat-as-withdraw',
    typeCode: 2,
    subcode: 11,
  },
  {
    name: 'AS_PATH empty segment',
    bytes: announce('40 02 02 02 00', ['asPath']),
    action: 'treat-as-withdraw',
    typeCode: 2,
    subcode: 11,
  },
  {
    name: 'AS_PATH segment overrun',
    bytes: announce('40 02 06 02 02 0000fde9', ['asPath']),
    action: 'treat-as-withdraw',
    typeCode: 2,
    subcode: 11,
  },
  {
    name: 'AS_PATH one octet left',
    bytes: announce('40 02 07 02 01 0000fde9 02', ['asPath']),
    action: 'treat-as-withdraw',
    typeCode: 2,
    subcode: 11,
  },
  {
    name: 'AS_PATH with AS 0 (RFC 7607)',
    bytes: announce('40 02 06 02 01 00000000', ['asPath']),
    action: 'treat-as-withdraw',
    typeCode: 2,
    subcode: 11,
  },
  // 7.3 NEXT_HOP, 7.4 MED
  {
    name: 'NEXT_HOP of length 5',
    bytes: announce('40 03 05 0a00000100', ['nextHop']),
    action: 'treat-as-withdraw',
    typeCode: 3,
    subcode: 5,
  },
  // RFC 4271 6.3: not a valid host address (FRR's "martian next hop")
  ...(
    [
      ['0.0.0.0', '00000000'],
      ['127.0.0.1', '7f000001'],
      ['multicast 224.0.0.5', 'e0000005'],
      ['reserved 240.0.0.1', 'f0000001'],
      ['broadcast 255.255.255.255', 'ffffffff'],
    ] as const
  ).map(
    ([what, value]): Case => ({
      name: `NEXT_HOP ${what}`,
      bytes: announce(`40 03 04 ${value}`, ['nextHop']),
      action: 'treat-as-withdraw',
      typeCode: 3,
      subcode: 8,
    }),
  ),
  {
    name: 'MED of length 3',
    bytes: announce('80 04 03 000000'),
    action: 'treat-as-withdraw',
    typeCode: 4,
    subcode: 5,
  },
  {
    name: 'MED marked well-known',
    bytes: announce('40 04 04 00000000'),
    action: 'treat-as-withdraw',
    typeCode: 4,
    subcode: 4,
  },
  // 7.5 LOCAL_PREF
  {
    name: 'LOCAL_PREF of length 3 from an external peer',
    bytes: announce('40 05 03 000064'),
    action: 'attribute-discard',
    typeCode: 5,
    subcode: 5,
  },
  {
    name: 'LOCAL_PREF of length 3 from an internal peer',
    bytes: announce('40 05 03 000064'),
    opts: INTERNAL,
    action: 'treat-as-withdraw',
    typeCode: 5,
    subcode: 5,
  },
  // 7.6 ATOMIC_AGGREGATE, 7.7 AGGREGATOR
  {
    name: 'ATOMIC_AGGREGATE of length 1',
    bytes: announce('40 06 01 00'),
    action: 'attribute-discard',
    typeCode: 6,
    subcode: 5,
  },
  {
    name: 'AGGREGATOR of length 6 on a four-octet session',
    bytes: announce('c0 07 06 fde9 0a000001'),
    action: 'attribute-discard',
    typeCode: 7,
    subcode: 5,
  },
  {
    name: 'AGGREGATOR with AS 0',
    bytes: announce('c0 07 08 00000000 0a000001'),
    action: 'attribute-discard',
    typeCode: 7,
    subcode: 9,
  },
  // 3.c: 7.6 and 7.7 make a wrong length a discard, not wrong flags
  {
    name: 'AGGREGATOR marked non-transitive',
    bytes: announce('80 07 08 0000fde9 0a000001'),
    action: 'treat-as-withdraw',
    typeCode: 7,
    subcode: 4,
  },
  {
    name: 'ATOMIC_AGGREGATE marked optional',
    bytes: announce('c0 06 00'),
    action: 'treat-as-withdraw',
    typeCode: 6,
    subcode: 4,
  },
  // Discarded in any form from an external peer (7.5), so also with wrong flags
  {
    name: 'LOCAL_PREF marked optional from an external peer',
    bytes: announce('c0 05 04 00000064'),
    action: 'attribute-discard',
    typeCode: 5,
    subcode: 4,
  },
  // 7.8 COMMUNITIES
  {
    name: 'COMMUNITIES of length 0',
    bytes: announce('c0 08 00'),
    action: 'treat-as-withdraw',
    typeCode: 8,
    subcode: 5,
  },
  {
    name: 'COMMUNITIES of length 5',
    bytes: announce('c0 08 05 fde90064 00'),
    action: 'treat-as-withdraw',
    typeCode: 8,
    subcode: 5,
  },
  // 7.9 ORIGINATOR_ID, 7.10 CLUSTER_LIST
  {
    name: 'ORIGINATOR_ID of length 5, external',
    bytes: announce('80 09 05 0a00000100'),
    action: 'attribute-discard',
    typeCode: 9,
    subcode: 5,
  },
  {
    name: 'ORIGINATOR_ID of length 5, internal',
    bytes: announce('80 09 05 0a00000100'),
    opts: INTERNAL,
    action: 'treat-as-withdraw',
    typeCode: 9,
    subcode: 5,
  },
  {
    name: 'CLUSTER_LIST of length 6, external',
    bytes: announce('80 0a 06 0a0000010000'),
    action: 'attribute-discard',
    typeCode: 10,
    subcode: 5,
  },
  {
    name: 'CLUSTER_LIST of length 6, internal',
    bytes: announce('80 0a 06 0a0000010000'),
    opts: INTERNAL,
    action: 'treat-as-withdraw',
    typeCode: 10,
    subcode: 5,
  },
  // 7.14 extended communities, RFC 8092 large communities
  {
    name: 'EXTENDED_COMMUNITIES of length 7',
    bytes: announce('c0 10 07 00020000fde900'),
    action: 'treat-as-withdraw',
    typeCode: 16,
    subcode: 5,
  },
  {
    name: 'LARGE_COMMUNITY of length 11',
    bytes: announce('c0 20 0b 0000fde9 00000001 000000'),
    action: 'treat-as-withdraw',
    typeCode: 32,
    subcode: 5,
  },
  // 3.g duplicates
  {
    name: 'COMMUNITIES twice',
    bytes: announce('c0 08 04 fde90064  c0 08 04 fde90065'),
    action: 'attribute-discard',
    typeCode: 8,
    subcode: 1,
  },
  // 3.d missing well-known attributes
  {
    name: 'no ORIGIN',
    bytes: announce('', ['origin']),
    action: 'treat-as-withdraw',
    typeCode: 1,
    subcode: 3,
  },
  {
    name: 'no AS_PATH',
    bytes: announce('', ['asPath']),
    action: 'treat-as-withdraw',
    typeCode: 2,
    subcode: 3,
  },
  {
    name: 'no NEXT_HOP for classic NLRI',
    bytes: announce('', ['nextHop']),
    action: 'treat-as-withdraw',
    typeCode: 3,
    subcode: 3,
  },
  // 4: attribute lengths against the total
  {
    name: 'last attribute overruns the total length',
    bytes: announce('c0 08 08 fde90064'),
    action: 'treat-as-withdraw',
    typeCode: 8,
    subcode: 5,
  },
  {
    name: 'two octets left, no room for a header',
    bytes: announce('c0 08'),
    action: 'treat-as-withdraw',
    typeCode: 8,
    subcode: 5,
  },
];

describe('bgp codec: RFC 7606 UPDATE error handling', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.action} (3/${c.subcode})`, () => {
      const msg = decodeUpdate(c.bytes, c.opts);
      assert.equal(msg.handling.kind, c.action);
      const problems = 'problems' in msg.handling ? msg.handling.problems : [];
      assert.equal(problems.length, 1, JSON.stringify(problems.map((p) => p.reason)));
      assert.equal(problems[0]!.typeCode, c.typeCode);
      assert.equal(problems[0]!.subcode, c.subcode);
      assert.equal(problems[0]!.action, c.action);
      // The NLRI stays readable: treat-as-withdraw needs to know which routes to withdraw.
      assert.deepStrictEqual(msg.nlri, [{ family: 'ipv4', addr: '10.1.0.0', len: 16 }]);
    });
  }

  it('drops the malformed attribute and keeps the rest', () => {
    const msg = decodeUpdate(announce('40 06 01 00  c0 08 04 fde90064'));
    assert.deepStrictEqual(
      msg.attributes.map((a) => a.type),
      ['origin', 'as-path', 'next-hop', 'communities'],
    );
  });

  it('keeps the first of repeated attributes', () => {
    const msg = decodeUpdate(announce('c0 08 04 fde90064  c0 08 04 fde90065'));
    assert.deepStrictEqual(msg.attributes[3], { type: 'communities', communities: [0xfde90064] });
  });

  it('takes the strongest action when several attributes are malformed (3.h)', () => {
    const msg = decodeUpdate(announce('40 06 01 00  80 04 03 000000'));
    assert.equal(msg.handling.kind, 'treat-as-withdraw');
    assert.deepStrictEqual(
      msg.handling.kind === 'treat-as-withdraw' && msg.handling.problems.map((p) => [p.typeCode, p.action]),
      [
        [6, 'attribute-discard'],
        [4, 'treat-as-withdraw'],
      ],
    );
  });

  it('accepts the host addresses next to the ranges it refuses as NEXT_HOP', () => {
    for (const [value, text] of [
      ['01000000', '1.0.0.0'],
      ['7effffff', '126.255.255.255'],
      ['80000000', '128.0.0.0'],
      ['dfffffff', '223.255.255.255'],
    ]) {
      const msg = decodeUpdate(announce(`40 03 04 ${value}`, ['nextHop']));
      assert.equal(msg.handling.kind, 'ok');
      assert.deepEqual(
        msg.attributes.find((a) => a.type === 'next-hop'),
        { type: 'next-hop', nextHop: text },
      );
    }
  });

  it('needs no NEXT_HOP when the routes are in MP_REACH_NLRI', () => {
    const mp = '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00  20 20010db8';
    const bytes = updateBytes({ attributes: `${mp}  40 01 01 00  40 02 00` });
    assert.deepStrictEqual(decodeUpdate(bytes).handling, { kind: 'ok' });
  });

  it('withdraws the routes of an IPv4 MP_REACH_NLRI whose next hop is no host address (3/8)', () => {
    const mp = '80 0e 0c 0001 01 04 e0000005 00  10 0a02';
    const msg = decodeUpdate(updateBytes({ attributes: `${mp}  40 01 01 00  40 02 00` }));
    assert.equal(msg.handling.kind, 'treat-as-withdraw');
    const problems = 'problems' in msg.handling ? msg.handling.problems : [];
    assert.deepEqual(
      problems.map((p) => [p.typeCode, p.subcode]),
      [[14, 8]],
    );
    assert.deepStrictEqual(routeChanges(msg), {
      announced: [],
      withdrawn: [{ family: 'ipv4', addr: '10.2.0.0', len: 16 }],
    });
  });

  describe('IPv6 MP_REACH_NLRI next hops (RFC 2545; 4271 6.3 and 7606 7.3 by analogy)', () => {
    const G = '20010db8000000000000000000000001';
    const LL = 'fe800000000000000000000000000001';
    const reach = (hops: string) => {
      const len = hops.length / 2;
      const mp = `80 0e ${(len + 5 + 5).toString(16).padStart(2, '0')} 0002 01 ${len.toString(16)} ${hops} 00  20 20010db8`;
      return decodeUpdate(updateBytes({ attributes: `${mp}  40 01 01 00  40 02 00` }));
    };
    for (const [what, hops, reason] of [
      ['a multicast global', `ff020000000000000000000000000001`, /global next hop is multicast/],
      ['the unspecified global alone', '00'.repeat(16), /unspecified/],
      ['a multicast link-local', `${G}ff020000000000000000000000000001`, /link-local next hop is multicast/],
    ] as const) {
      it(`withdraws the routes of ${what} (3/8)`, () => {
        const msg = reach(hops);
        assert.equal(msg.handling.kind, 'treat-as-withdraw');
        const problems = 'problems' in msg.handling ? msg.handling.problems : [];
        assert.deepEqual(
          problems.map((p) => [p.typeCode, p.subcode]),
          [[14, 8]],
        );
        assert.match(problems[0]?.reason ?? '', reason);
        assert.deepStrictEqual(routeChanges(msg), {
          announced: [],
          withdrawn: [{ family: 'ipv6', addr: '2001:db8::', len: 32 }],
        });
      });
    }
    for (const [what, hops] of [
      ['a global alone', G],
      ['a global and a link-local', `${G}${LL}`],
      ['the unspecified global with a link-local', `${'00'.repeat(16)}${LL}`],
    ] as const) {
      it(`accepts ${what}`, () => {
        assert.deepStrictEqual(reach(hops).handling, { kind: 'ok' });
      });
    }
  });

  it('keeps unrecognised optional attributes and reads extended lengths', () => {
    const value = 'ab'.repeat(300);
    const msg = decodeUpdate(announce(`d0 63 012c ${value}  d0 08 0004 fde90064`));
    assert.deepStrictEqual(msg.attributes[3], {
      type: 'unknown',
      typeCode: 0x63,
      flags: 0xc0,
      value: hex(value),
    });
    assert.deepStrictEqual(msg.attributes[4], { type: 'communities', communities: [0xfde90064] });
    assert.deepStrictEqual(msg.handling, { kind: 'ok' });
  });

  describe('session reset', () => {
    const cases: [string, Buffer, number][] = [
      [
        'withdrawn routes length beyond the message',
        updateBytes({ withdrawn: '18 0a0000' }).fill(0x40, 19, 20),
        1,
      ],
      [
        'total attribute length beyond the message',
        (() => {
          const b = updateBytes({ attributes: MANDATORY_ATTRIBUTES });
          b.writeUInt16BE(0x100, 21);
          return b;
        })(),
        1,
      ],
      ['NLRI with length 33', updateBytes({ attributes: MANDATORY_ATTRIBUTES, nlri: '21 0a000000 00' }), 10],
      [
        'NLRI overrunning the message',
        updateBytes({ attributes: MANDATORY_ATTRIBUTES, nlri: '18 0a00' }),
        10,
      ],
      ['withdrawn route with length 40', updateBytes({ withdrawn: '28 0a000000 00' }), 10],
      ['unrecognised well-known attribute', announce('40 63 01 00'), 2],
      [
        'MP_REACH_NLRI twice',
        announce('80 0e 09 0001 01 04 0a000001 00  80 0e 09 0001 01 04 0a000001 00'),
        1,
      ],
      ['MP_REACH_NLRI shorter than 5', announce('80 0e 04 0002 01 00'), 9],
      [
        'MP_REACH_NLRI with a 12-octet IPv6 next hop',
        announce('80 0e 11 0002 01 0c 000000000000000000000000 00'),
        9,
      ],
      [
        'MP_REACH_NLRI with an IPv6 prefix of length 129',
        announce(`80 0e 27 0002 01 10 ${'00'.repeat(16)} 00 81 ${'00'.repeat(17)}`),
        9,
      ],
      ['MP_REACH_NLRI marked transitive', announce(`c0 0e 15 0002 01 10 ${'00'.repeat(16)} 00`), 4],
      ['MP_UNREACH_NLRI shorter than 3', updateBytes({ attributes: '80 0f 02 0002' }), 9],
      [
        'malformed ORIGIN in an UPDATE that announces nothing (5.2)',
        updateBytes({ withdrawn: ONE_PREFIX, attributes: '40 01 01 07' }),
        6,
      ],
    ];
    for (const [name, bytes, subcode] of cases) {
      it(`${name}: NOTIFICATION 3/${subcode}`, () => assertThrowsBgp(() => decodeUpdate(bytes), 3, subcode));
    }

    it('an attribute-discard in an UPDATE that announces nothing is not a reset', () => {
      const msg = decodeUpdate(updateBytes({ withdrawn: ONE_PREFIX, attributes: '40 06 01 00' }));
      assert.equal(msg.handling.kind, 'attribute-discard');
      assert.deepStrictEqual(msg.withdrawn, [{ family: 'ipv4', addr: '10.1.0.0', len: 16 }]);
    });

    it('the error carries the offending attribute as NOTIFICATION data', () => {
      assert.throws(
        () => decodeUpdate(announce('40 63 01 00')),
        (err: unknown) => err instanceof BgpError && err.data.equals(hex('40 63 01 00')),
      );
    });
  });
});
