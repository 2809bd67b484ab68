import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  align4,
  attrBytes,
  attrMap,
  attrNested,
  attrString,
  attrU8,
  attrU16,
  attrU32,
  decodeAttrs,
  decodeError,
  decodeIfAddrMsg,
  decodeIfInfoMsg,
  decodeMessages,
  decodeNextHops,
  decodeRtMsg,
  encodeAttrs,
  encodeIfAddrMsg,
  encodeIfInfoMsg,
  encodeMessage,
  encodeNextHops,
  encodeRtMsg,
  type LeafAttr,
  type NlHeader,
  payloadOf,
  type RtAttr,
  readString,
  readU8,
  readU16,
  readU32,
} from '../../src/netlink/codec.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { NetlinkDecodeError } from '../../src/netlink/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Leaf-only attribute trees up to depth 3 (the kernel nests IFLA_LINKINFO this deep). */
const attrArb: fc.Arbitrary<RtAttr> = fc.letrec<{ attr: RtAttr }>((tie) => ({
  attr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), data: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({
      type: fc.integer({ min: 0, max: 0x3fff }),
      attrs: fc.array(tie('attr'), { maxLength: 4 }),
    }),
  ),
})).attr;

const headerArb: fc.Arbitrary<NlHeader> = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  pid: fc.integer({ min: 0, max: 0xffffffff }),
});

/** Decoding is flat; re-encode a nested tree's leaves by decoding nested values recursively. */
function normalise(attr: RtAttr): unknown {
  return 'attrs' in attr
    ? { type: attr.type, attrs: attr.attrs.map(normalise) }
    : { type: attr.type, data: hex(attr.data) };
}

function decodeAs(shape: readonly RtAttr[], bytes: Uint8Array): unknown[] {
  const decoded = decodeAttrs(bytes);
  assert.equal(decoded.length, shape.length);
  return decoded.map((d, i) => {
    const want = shape[i]!;
    return 'attrs' in want
      ? { type: d.type, attrs: decodeAs(want.attrs, d.data) }
      : { type: d.type, data: hex(d.data) };
  });
}

describe('netlink/codec', () => {
  describe('known answers', () => {
    it('encodes an attribute with header, value and zeroed padding', () => {
      assert.equal(hex(encodeAttrs([attrU8(7, 0xab)])), '05000700ab000000');
      assert.equal(hex(encodeAttrs([attrU16(1, 0x1234)])), '0600010034120000');
      assert.equal(hex(encodeAttrs([attrU32(15, 254)])), '08000f00fe000000');
      // IFLA_IFNAME "eth0": length 9 (4 + "eth0\0"), padded to 12.
      assert.equal(hex(encodeAttrs([attrString(3, 'eth0')])), '0900030065746830' + '00000000');
    });

    it('encodes nested attributes with the outer length covering the padded inner ones', () => {
      const bytes = encodeAttrs([attrNested(18, [attrString(1, 'veth')])]);
      // outer: len 4+12=16 type 18; inner: len 9 type 1 "veth\0" + 3 pad
      assert.equal(hex(bytes), '10001200' + '0900010076657468' + '00000000');
    });

    it('encodes the RTM_GETLINK dump request iproute2 sends', () => {
      const msg = encodeMessage(
        { type: 18, flags: 0x301, seq: 1, pid: 0 },
        payloadOf(encodeIfInfoMsg({ family: 0, type: 0, index: 0, flags: 0, change: 0 }), []),
      );
      assert.equal(hex(msg), '20000000' + '1200' + '0103' + '01000000' + '00000000' + '00'.repeat(16));
    });

    it('encodes an rtmsg field by field', () => {
      const rtm = {
        family: 2,
        dstLen: 24,
        srcLen: 0,
        tos: 0,
        table: 254,
        protocol: 45,
        scope: 0,
        type: 1,
        flags: 4,
      };
      assert.equal(hex(encodeRtMsg(rtm)), '021800' + '00fe2d0001' + '04000000');
      assert.deepEqual(decodeRtMsg(encodeRtMsg(rtm)), rtm);
    });

    it('encodes an ifaddrmsg and an ifinfomsg', () => {
      const ifa = { family: 10, prefixLen: 128, flags: 2, scope: 0, index: 7 };
      assert.equal(hex(encodeIfAddrMsg(ifa)), '0a80020007000000');
      assert.deepEqual(decodeIfAddrMsg(encodeIfAddrMsg(ifa)), ifa);
      const ifi = { family: 0, type: 1, index: 3, flags: 1, change: 1 };
      assert.equal(hex(encodeIfInfoMsg(ifi)), '00000100' + '03000000' + '01000000' + '01000000');
      assert.deepEqual(decodeIfInfoMsg(encodeIfInfoMsg(ifi)), ifi);
    });

    it('encodes rtnexthops: length, flags, hops (weight-1), ifindex, then attributes', () => {
      const gw = Uint8Array.of(10, 0, 0, 1);
      const bytes = encodeNextHops([{ flags: 4, hops: 2, ifindex: 5, attrs: [attrBytes(5, gw)] }]);
      assert.equal(hex(bytes), '1000' + '04' + '02' + '05000000' + '08000500' + '0a000001');
      const [hop] = decodeNextHops(bytes);
      assert.equal(hop!.ifindex, 5);
      assert.equal(hop!.hops, 2);
      assert.equal(hex(hop!.attrs[0]!.data), '0a000001');
    });

    it('decodes an NLMSG_ERROR with a capped echo and an extended-ACK message', () => {
      const echoed = Buffer.from('2c0000001800050607000000' + '00000000', 'hex'); // len 44 type 24 seq 7
      const tlv = encodeAttrs([attrString(1, 'Invalid prefix')]);
      const payload = Buffer.concat([Buffer.from('efffffff', 'hex'), echoed, tlv]); // -17 EEXIST
      const msg = decodeMessages(
        encodeMessage(
          { type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 7, pid: 0 },
          payloadOf(payload, []),
        ),
      )[0]!;
      const err = decodeError(msg);
      assert.equal(err.errno, 17);
      assert.deepEqual(err.request, { type: 24, flags: 0x605, seq: 7, pid: 0 });
      assert.equal(err.message, 'Invalid prefix');
    });

    it('decodes a plain ACK (errno 0) without extended attributes', () => {
      const payload = Buffer.concat([
        Buffer.alloc(4),
        Buffer.from('1c0000001800050009000000' + '00000000', 'hex'),
      ]);
      const msg = decodeMessages(
        encodeMessage({ type: NLMSG_ERROR, flags: 0, seq: 9, pid: 0 }, payloadOf(payload, [])),
      )[0]!;
      assert.deepEqual(decodeError(msg), {
        errno: 0,
        request: { type: 24, flags: 5, seq: 9, pid: 0 },
        message: undefined,
      });
    });

    it('masks NLA_F_NESTED / NLA_F_NET_BYTEORDER out of attribute types', () => {
      const [a] = decodeAttrs(Buffer.from('08001280' + '01000000', 'hex'));
      assert.equal(a!.type, 18);
    });

    it('reads strings up to the NUL and fixed-width integers', () => {
      assert.equal(readString(Buffer.from('lo\0\0junk')), 'lo');
      assert.equal(readString(Buffer.from('no-nul')), 'no-nul');
      assert.equal(readU8(Uint8Array.of(9)), 9);
      assert.equal(readU16(Uint8Array.of(1, 2)), 0x0201);
      assert.equal(readU32(Uint8Array.of(1, 0, 0, 0x80)), 0x80000001);
    });

    it('lets a repeated attribute type keep its last value', () => {
      const attrs = decodeAttrs(encodeAttrs([attrU32(4, 1), attrU32(4, 2)]));
      assert.equal(readU32(attrMap(attrs).get(4)!), 2);
    });
  });

  describe('typed decode errors', () => {
    const cases: [string, () => unknown][] = [
      ['truncated nlmsghdr', () => decodeMessages(Buffer.alloc(15))],
      ['nlmsg_len below the header', () => decodeMessages(Buffer.from('0f000000' + '00'.repeat(12), 'hex'))],
      ['nlmsg_len past the end', () => decodeMessages(Buffer.from('40000000' + '00'.repeat(12), 'hex'))],
      ['truncated attribute header', () => decodeAttrs(Buffer.from('0800', 'hex'))],
      ['attribute length below its header', () => decodeAttrs(Buffer.from('02000100', 'hex'))],
      ['attribute past the end', () => decodeAttrs(Buffer.from('0c000100' + '00000000', 'hex'))],
      ['short u32 attribute', () => readU32(Uint8Array.of(1, 2))],
      ['truncated rtmsg', () => decodeRtMsg(Buffer.alloc(11))],
      ['truncated ifinfomsg', () => decodeIfInfoMsg(Buffer.alloc(15))],
      ['truncated ifaddrmsg', () => decodeIfAddrMsg(Buffer.alloc(7))],
      ['truncated rtnexthop', () => decodeNextHops(Buffer.alloc(7))],
      ['rtnexthop past the end', () => decodeNextHops(Buffer.from('2000000001000000', 'hex'))],
    ];
    for (const [name, fn] of cases) {
      it(`rejects ${name} with NetlinkDecodeError`, () => {
        assert.throws(fn, NetlinkDecodeError);
      });
    }

    it('rejects a truncated nlmsgerr', () => {
      const msg = decodeMessages(
        encodeMessage({ type: NLMSG_ERROR, flags: 0, seq: 1, pid: 0 }, payloadOf(Buffer.alloc(8), [])),
      )[0]!;
      assert.throws(() => decodeError(msg), NetlinkDecodeError);
    });
  });

  describe('properties', () => {
    it('round-trips attribute trees (encode then decode gives the same tree)', () => {
      fc.assert(
        fc.property(fc.array(attrArb, { maxLength: 6 }), (attrs) => {
          const bytes = encodeAttrs(attrs);
          assert.equal(bytes.length % 4, 0);
          assert.deepEqual(decodeAs(attrs, bytes), attrs.map(normalise));
        }),
      );
    });

    it('round-trips messages: header fields and payload survive, several per datagram', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(headerArb, fc.uint8Array({ maxLength: 30 }), fc.array(attrArb, { maxLength: 3 })),
            {
              minLength: 1,
              maxLength: 5,
            },
          ),
          (msgs) => {
            const datagram = Buffer.concat(
              msgs.map(([h, body, attrs]) => encodeMessage(h, payloadOf(body, attrs))),
            );
            const decoded = decodeMessages(datagram);
            assert.equal(decoded.length, msgs.length);
            decoded.forEach((d, i) => {
              const [h, body, attrs] = msgs[i]!;
              assert.deepEqual({ type: d.type, flags: d.flags, seq: d.seq, pid: d.pid }, { ...h });
              const padded = align4(body.length);
              assert.equal(hex(d.payload.subarray(0, body.length)), hex(body));
              assert.equal(hex(d.payload.subarray(body.length, padded)), '00'.repeat(padded - body.length));
              assert.deepEqual(decodeAs(attrs, d.payload.subarray(padded)), attrs.map(normalise));
            });
          },
        ),
      );
    });

    it('round-trips fixed headers', () => {
      const u8 = fc.integer({ min: 0, max: 255 });
      const u32 = fc.integer({ min: 0, max: 0xffffffff });
      fc.assert(
        fc.property(
          fc.record({
            family: u8,
            dstLen: u8,
            srcLen: u8,
            tos: u8,
            table: u8,
            protocol: u8,
            scope: u8,
            type: u8,
            flags: u32,
          }),
          (m) => assert.deepEqual(decodeRtMsg(encodeRtMsg(m)), { ...m }),
        ),
      );
      fc.assert(
        fc.property(fc.record({ family: u8, prefixLen: u8, flags: u8, scope: u8, index: u32 }), (m) =>
          assert.deepEqual(decodeIfAddrMsg(encodeIfAddrMsg(m)), { ...m }),
        ),
      );
      fc.assert(
        fc.property(
          fc.record({
            family: u8,
            type: fc.integer({ min: 0, max: 0xffff }),
            index: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
            flags: u32,
            change: u32,
          }),
          (m) => assert.deepEqual(decodeIfInfoMsg(encodeIfInfoMsg(m)), { ...m }),
        ),
      );
    });

    it('round-trips next-hop lists', () => {
      const hopArb = fc.record({
        flags: fc.integer({ min: 0, max: 255 }),
        hops: fc.integer({ min: 0, max: 255 }),
        ifindex: fc.integer({ min: 0, max: 0x7fffffff }),
        attrs: fc.array(
          fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), data: fc.uint8Array({ maxLength: 16 }) }),
          { maxLength: 3 },
        ),
      });
      fc.assert(
        fc.property(fc.array(hopArb, { maxLength: 5 }), (hops) => {
          const decoded = decodeNextHops(encodeNextHops(hops));
          assert.deepEqual(
            decoded.map((h) => ({
              ...h,
              attrs: h.attrs.map((a: LeafAttr) => ({ type: a.type, data: hex(a.data) })),
            })),
            hops.map((h) => ({ ...h, attrs: h.attrs.map((a) => ({ type: a.type, data: hex(a.data) })) })),
          );
        }),
      );
    });

    it('decoders throw nothing but NetlinkDecodeError on arbitrary bytes', () => {
      const onlyDecodeErrors = (fn: () => unknown): void => {
        try {
          fn();
        } catch (err) {
          if (!(err instanceof NetlinkDecodeError)) throw err;
        }
      };
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          onlyDecodeErrors(() => {
            for (const m of decodeMessages(bytes)) {
              decodeAttrs(m.payload);
              if (m.type === NLMSG_ERROR) decodeError(m);
            }
          });
          onlyDecodeErrors(() => decodeAttrs(bytes));
          onlyDecodeErrors(() => decodeNextHops(bytes));
          onlyDecodeErrors(() => decodeRtMsg(bytes));
          onlyDecodeErrors(() => decodeIfInfoMsg(bytes));
          onlyDecodeErrors(() => decodeIfAddrMsg(bytes));
        }),
        { numRuns: 2000 },
      );
    });
  });
});
