import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type BgpMessage,
  type CodecOptions,
  type DecodedMessage,
  decodeMessage,
  encodeMessage,
  shutdownNotification,
} from '../../bgp/codec/index.js';
import { message, sessionOptions } from './fixtures/codec-arbitraries.js';

const FOUR_OCTET: CodecOptions = { fourOctetAs: true, extendedMessage: false };
const TWO_OCTET: CodecOptions = { fourOctetAs: false, extendedMessage: false };

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const MARKER = 'ff'.repeat(16);

/** What decoding an encoded message gives back: UPDATEs gain a clean bill of health. */
function expected(msg: BgpMessage): DecodedMessage {
  return msg.type === 'update' ? { ...msg, handling: { kind: 'ok' } } : msg;
}

describe('bgp codec: messages', () => {
  describe('round trip', () => {
    it('decode(encode(x)) equals x for every message type and session kind', () => {
      fc.assert(
        fc.property(
          sessionOptions.chain((opts) => fc.tuple(fc.constant(opts), message(opts))),
          ([opts, msg]) => {
            assert.deepStrictEqual(decodeMessage(encodeMessage(msg, opts), opts), expected(msg));
          },
        ),
        { numRuns: 2000 },
      );
    });

    it('two-octet sessions carry four-octet paths through AS_TRANS and AS4_PATH', () => {
      fc.assert(
        fc.property(message(TWO_OCTET), (msg) => {
          assert.deepStrictEqual(decodeMessage(encodeMessage(msg, TWO_OCTET), TWO_OCTET), expected(msg));
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('known answers', () => {
    it('KEEPALIVE is 16 x ff, length 19, type 4', () => {
      const bytes = hex(`${MARKER} 0013 04`);
      assert.deepStrictEqual(encodeMessage({ type: 'keepalive' }, FOUR_OCTET), bytes);
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), { type: 'keepalive' });
    });

    it('OPEN as FRR sends it: one capability per optional parameter', () => {
      const bytes = hex(`${MARKER} 004f 01
        04 fde9 00b4 0a000001 32
        02 06 01 04 0001 00 01
        02 06 01 04 0002 00 01
        02 02 80 00
        02 02 02 00
        02 02 46 00
        02 06 41 04 0000fde9
        02 08 40 06 0078 0001 01 80
        02 02 06 00`);
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), {
        type: 'open',
        myAs: 65001,
        holdTime: 180,
        bgpId: '10.0.0.1',
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'multiprotocol', afi: 2, safi: 1 },
          { kind: 'unknown', code: 128, value: Buffer.alloc(0) },
          { kind: 'route-refresh' },
          { kind: 'enhanced-route-refresh' },
          { kind: 'four-octet-as', asn: 65001 },
          {
            kind: 'graceful-restart',
            restarting: false,
            notification: false,
            restartTime: 120,
            families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
          },
          { kind: 'extended-message' },
        ],
      });
    });

    it('OPEN encodes its capabilities in one optional parameter', () => {
      const bytes = encodeMessage(
        {
          type: 'open',
          myAs: 23456,
          holdTime: 90,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: 2, safi: 1 },
            { kind: 'four-octet-as', asn: 4200000001 },
            {
              kind: 'graceful-restart',
              restarting: true,
              notification: true,
              restartTime: 300,
              families: [{ afi: 2, safi: 1, forwardingPreserved: false }],
            },
          ],
        },
        FOUR_OCTET,
      );
      // GR: flags R|N = 0xc, time 300 = 0x12c -> 0xc12c.
      assert.equal(
        bytes.toString('hex'),
        hex(`${MARKER} 0033 01 04 5ba0 005a c0000201 16
          02 14 01 04 0002 00 01 41 04 fa56ea01 40 06 c12c 0002 01 00`).toString('hex'),
      );
    });

    it('UPDATE with ORIGIN, AS_PATH, NEXT_HOP, MED and two IPv4 prefixes', () => {
      const bytes = hex(`${MARKER} 0039 02 0000 001b
        40 01 01 00
        40 02 06 02 01 0000fde9
        40 03 04 0a000001
        80 04 04 00000000
        10 0a01 18 c0a801`);
      const msg: BgpMessage = {
        type: 'update',
        withdrawn: [],
        attributes: [
          { type: 'origin', origin: 'igp' },
          { type: 'as-path', segments: [{ type: 'sequence', asns: [65001] }] },
          { type: 'next-hop', nextHop: '10.0.0.1' },
          { type: 'med', med: 0 },
        ],
        nlri: [
          { family: 'ipv4', addr: '10.1.0.0', len: 16 },
          { family: 'ipv4', addr: '192.168.1.0', len: 24 },
        ],
      };
      assert.deepStrictEqual(encodeMessage(msg, FOUR_OCTET), bytes);
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), expected(msg));
    });

    it('UPDATE with MP_REACH_NLRI, a 32-octet IPv6 next hop, MP first', () => {
      const bytes = hex(`${MARKER} 004b 02 0000 0034
        80 0e 2a 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00
          20 20010db8
        40 01 01 02
        40 02 00`);
      const msg: BgpMessage = {
        type: 'update',
        withdrawn: [],
        attributes: [
          { type: 'origin', origin: 'incomplete' },
          { type: 'as-path', segments: [] },
          {
            type: 'mp-reach-nlri',
            family: 'ipv6',
            nextHop: '2001:db8::1',
            linkLocalNextHop: 'fe80::1',
            nlri: [{ family: 'ipv6', addr: '2001:db8::', len: 32 }],
          },
        ],
        nlri: [],
      };
      // The caller's order is not the wire order: MP_REACH_NLRI goes first (RFC 7606 5.1).
      assert.deepStrictEqual(encodeMessage(msg, FOUR_OCTET), bytes);
      const [origin, asPath, mpReach] = msg.attributes;
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), {
        ...msg,
        attributes: [mpReach, origin, asPath],
        handling: { kind: 'ok' },
      });
    });

    it('UPDATE to a two-octet peer: AS_TRANS in AS_PATH, the real path in AS4_PATH', () => {
      const msg: BgpMessage = {
        type: 'update',
        withdrawn: [],
        attributes: [{ type: 'as-path', segments: [{ type: 'sequence', asns: [65001, 4200000001] }] }],
        nlri: [],
      };
      const bytes = hex(`${MARKER} 002d 02 0000 0016
        40 02 06 02 02 fde9 5ba0
        c0 11 0a 02 02 0000fde9 fa56ea01`);
      assert.deepStrictEqual(encodeMessage(msg, TWO_OCTET), bytes);
      assert.deepStrictEqual(decodeMessage(bytes, TWO_OCTET), expected(msg));
    });

    it('NOTIFICATION Cease/2 with a shutdown communication', () => {
      const bytes = hex(`${MARKER} 0019 03 06 02 03 627965`);
      assert.deepStrictEqual(encodeMessage(shutdownNotification(2, 'bye'), FOUR_OCTET), bytes);
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), shutdownNotification(2, 'bye'));
    });

    it('NOTIFICATION Cease/2 with invalid UTF-8 keeps the raw data', () => {
      const bytes = hex(`${MARKER} 0018 03 06 02 02 c328`);
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), {
        type: 'notification',
        code: 6,
        subcode: 2,
        data: hex('02c328'),
      });
    });

    it('ROUTE-REFRESH BoRR for IPv6 unicast', () => {
      const bytes = hex(`${MARKER} 0017 05 0002 01 01`);
      const msg: BgpMessage = { type: 'route-refresh', afi: 2, safi: 1, subtype: 1 };
      assert.deepStrictEqual(encodeMessage(msg, FOUR_OCTET), bytes);
      assert.deepStrictEqual(decodeMessage(bytes, FOUR_OCTET), msg);
    });
  });
});
