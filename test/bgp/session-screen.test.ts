// RFC 4271 6.3 checks that need the session (bgp/session/screen.ts): routes whose next hop is our
// own address on the session are withdrawn, multicast prefixes in unicast NLRI ignored; and the
// session hands on the screened UPDATE, logging each kind once per peer.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import {
  type DecodedUpdate,
  formatPrefix,
  type PathAttribute,
  type Prefix,
  parsePrefix,
  routeChanges,
} from '../../bgp/codec/index.js';
import { isMulticast, screenUpdate } from '../../bgp/session/screen.js';
import { formatAddressBytes } from '../../src/net/index.js';
import { acceptedSession, FakeClock, RecordingConsumer, settle } from './session-fakes.js';

const OURS_V4 = '192.0.2.1';
const OURS_V6 = '2001:db8::1';
const PEER_V4 = '192.0.2.2';

const p = (text: string): Prefix => parsePrefix(text);
const texts = (list: readonly Prefix[]): string[] => list.map(formatPrefix);
const BASE: PathAttribute[] = [
  { type: 'origin', origin: 'igp' },
  { type: 'as-path', segments: [{ type: 'sequence', asns: [65002] }] },
];

function update(over: Partial<DecodedUpdate>): DecodedUpdate {
  return { type: 'update', withdrawn: [], attributes: BASE, nlri: [], handling: { kind: 'ok' }, ...over };
}

const classic = (nextHop: string, nlri: string[], withdrawn: string[] = []): DecodedUpdate =>
  update({
    attributes: [...BASE, { type: 'next-hop', nextHop }],
    nlri: nlri.map(p),
    withdrawn: withdrawn.map(p),
  });

const mpReach = (nextHop: string, nlri: string[]): PathAttribute => ({
  type: 'mp-reach-nlri',
  family: 'ipv6',
  nextHop,
  linkLocalNextHop: 'fe80::2',
  nlri: nlri.map(p),
});

function changes(u: DecodedUpdate): { announced: string[]; withdrawn: string[] } {
  const c = routeChanges(u);
  return { announced: texts(c.announced), withdrawn: texts(c.withdrawn) };
}

describe('bgp session screening: next hop = our own address (RFC 4271 5.1.3, 6.3)', () => {
  it('IPv4 NEXT_HOP ours: the announcements become withdrawals, the peer’s own kept', () => {
    const s = screenUpdate(classic(OURS_V4, ['10.1.0.0/24', '10.2.0.0/24'], ['10.9.0.0/24']), OURS_V4);
    assert.deepEqual(changes(s.update), {
      announced: [],
      withdrawn: ['10.9.0.0/24', '10.1.0.0/24', '10.2.0.0/24'],
    });
    assert.deepEqual(texts(s.ownNextHop), ['10.1.0.0/24', '10.2.0.0/24']);
  });

  it('IPv6 MP_REACH next hop ours: withdrawn in an MP_UNREACH, joining the peer’s for that family', () => {
    const s = screenUpdate(
      update({
        attributes: [
          ...BASE,
          { type: 'mp-unreach-nlri', family: 'ipv6', withdrawn: [p('2001:db8:9::/48')] },
          mpReach(OURS_V6, ['2001:db8:1::/48']),
        ],
      }),
      OURS_V6,
    );
    assert.deepEqual(changes(s.update), { announced: [], withdrawn: ['2001:db8:9::/48', '2001:db8:1::/48'] });
    assert.equal(s.update.attributes.filter((a) => a.type === 'mp-unreach-nlri').length, 1);
    assert.equal(s.update.attributes.filter((a) => a.type === 'mp-reach-nlri').length, 0);
  });

  it('only the family whose next hop is ours: IPv4 via another next hop stays announced', () => {
    const s = screenUpdate(
      update({
        attributes: [...BASE, { type: 'next-hop', nextHop: PEER_V4 }, mpReach(OURS_V6, ['2001:db8:1::/48'])],
        nlri: [p('10.1.0.0/24')],
      }),
      OURS_V6,
    );
    assert.deepEqual(changes(s.update), { announced: ['10.1.0.0/24'], withdrawn: ['2001:db8:1::/48'] });
  });

  it('another next hop, no multicast: the very same UPDATE object', () => {
    const u = classic(PEER_V4, ['10.1.0.0/24']);
    const s = screenUpdate(u, OURS_V4);
    assert.equal(s.update, u);
    assert.deepEqual([s.ownNextHop, s.multicast], [[], []]);
  });

  it('a treat-as-withdraw UPDATE is left as the codec judged it', () => {
    const u: DecodedUpdate = {
      ...classic(OURS_V4, ['10.1.0.0/24']),
      handling: { kind: 'treat-as-withdraw', reason: 'test', problems: [] },
    };
    assert.equal(screenUpdate(u, OURS_V4).update, u);
  });
});

describe('bgp session screening: multicast NLRI (RFC 4271 6.3)', () => {
  it('drops 224/4 and ff00::/8 destinations, keeps their neighbours', () => {
    const s = screenUpdate(
      update({
        attributes: [
          ...BASE,
          { type: 'next-hop', nextHop: PEER_V4 },
          mpReach('2001:db8::2', ['ff02::/16', 'ff00::/8', 'ffa::/16', 'ff::/16', '2001:db8:1::/48']),
        ],
        nlri: ['224.0.0.0/24', '239.255.0.0/16', '223.255.255.0/24', '240.0.0.0/4', '224.0.0.0/3'].map(p),
      }),
      OURS_V4,
    );
    assert.deepEqual(texts(s.multicast), ['224.0.0.0/24', '239.255.0.0/16', 'ff02::/16', 'ff00::/8']);
    assert.deepEqual(changes(s.update), {
      announced: ['223.255.255.0/24', '240.0.0.0/4', '224.0.0.0/3', 'ffa::/16', 'ff::/16', '2001:db8:1::/48'],
      withdrawn: [],
    });
  });

  it('isMulticast agrees with the address bytes for any prefix', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({
            v6: fc.constant(false),
            bytes: fc.uint8Array({ minLength: 4, maxLength: 4 }),
            len: fc.integer({ min: 0, max: 32 }),
          }),
          fc.record({
            v6: fc.constant(true),
            bytes: fc.uint8Array({ minLength: 16, maxLength: 16 }),
            len: fc.integer({ min: 0, max: 128 }),
          }),
        ),
        ({ v6, bytes, len }) => {
          // Host bits do not matter to the check; the prefix text is the canonical address.
          const prefix: Prefix = {
            family: v6 ? 'ipv6' : 'ipv4',
            addr: formatAddressBytes(bytes, 0, v6 ? 6 : 4),
            len,
          };
          const expected = v6 ? len >= 8 && bytes[0] === 0xff : len >= 4 && (bytes[0]! & 0xf0) === 0xe0;
          assert.equal(isMulticast(prefix), expected, `${prefix.addr}/${len}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('screening never invents or loses a non-multicast prefix', () => {
    const v4 = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
      .map(([a, b]) => p(`${a}.${b}.0.0/16`));
    fc.assert(
      fc.property(
        fc.uniqueArray(v4, { selector: formatPrefix, maxLength: 8 }),
        fc.boolean(),
        (nlri, ours) => {
          const u = update({
            attributes: [...BASE, { type: 'next-hop', nextHop: ours ? OURS_V4 : PEER_V4 }],
            nlri,
          });
          const s = screenUpdate(u, OURS_V4);
          const c = changes(s.update);
          const unicast = texts(nlri.filter((x) => !isMulticast(x)));
          assert.deepEqual(ours ? c.withdrawn : c.announced, unicast);
          assert.deepEqual(ours ? c.announced : c.withdrawn, []);
          assert.deepEqual(texts(s.multicast), texts(nlri.filter(isMulticast)));
        },
      ),
    );
  });
});

describe('bgp session screening in the session', () => {
  it('hands on the screened UPDATE and logs each kind once per peer', async () => {
    const clock = new FakeClock();
    const consumer = new RecordingConsumer();
    const logs: { msg?: string; nextHop?: string }[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logs.push(JSON.parse(chunk.toString()) as (typeof logs)[number]);
          done();
        },
      }),
    );
    const { session, peer } = await acceptedSession({
      consumer,
      clock,
      local: OURS_V4,
      remote: PEER_V4,
      logger,
    });
    for (let i = 0; i < 2; i++) {
      peer.send(classic(OURS_V4, ['10.1.0.0/24']));
      peer.send(classic(PEER_V4, ['224.0.0.0/24', '10.2.0.0/24']));
    }
    await settle();
    assert.deepEqual(consumer.received.map(changes), [
      { announced: [], withdrawn: ['10.1.0.0/24'] },
      { announced: ['10.2.0.0/24'], withdrawn: [] },
      { announced: [], withdrawn: ['10.1.0.0/24'] },
      { announced: ['10.2.0.0/24'], withdrawn: [] },
    ]);
    const semantic = logs.filter((l) => l.msg?.includes('RFC 4271 6.3'));
    assert.equal(semantic.length, 2, 'one line per kind, not per UPDATE');
    assert.equal(semantic[0]?.nextHop, OURS_V4);
    assert.equal(session.state, 'Established', 'no NOTIFICATION for a semantic error');
    assert.equal(peer.count('notification'), 0);
    await session.stop();
  });
});
