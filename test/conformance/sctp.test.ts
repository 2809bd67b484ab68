// The SCTP INIT / INIT-ACK codec the conformance probe crafts on raw sockets: CRC32c against the
// published vectors, byte layout, encode/decode round trips and decoder fuzzing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CHUNK_INIT,
  CHUNK_INIT_ACK,
  crc32c,
  decodeSctp,
  encodeSctp,
  SctpDecodeError,
  SctpEncodeError,
  type SctpPacket,
} from './sctp.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nonZero16 = fc.integer({ min: 1, max: 0xffff });
const nonZero32 = fc.integer({ min: 1, max: 0xffffffff });

const fields = fc.record({
  initiateTag: nonZero32,
  arwnd: u32,
  outboundStreams: nonZero16,
  inboundStreams: nonZero16,
  initialTsn: u32,
});

const packets: fc.Arbitrary<SctpPacket> = fc.oneof(
  fc.record({ srcPort: u16, dstPort: u16, f: fields }).map(
    ({ srcPort, dstPort, f }): SctpPacket => ({
      srcPort,
      dstPort,
      verificationTag: 0,
      chunk: { type: CHUNK_INIT, ...f },
    }),
  ),
  fc
    .record({
      srcPort: u16,
      dstPort: u16,
      tag: u32,
      f: fields,
      cookie: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    })
    .map(
      ({ srcPort, dstPort, tag, f, cookie }): SctpPacket => ({
        srcPort,
        dstPort,
        verificationTag: tag,
        chunk: { type: CHUNK_INIT_ACK, ...f, stateCookie: cookie },
      }),
    ),
);

const init: SctpPacket = {
  srcPort: 40000,
  dstPort: 80,
  verificationTag: 0,
  chunk: {
    type: CHUNK_INIT,
    initiateTag: 0x01020304,
    arwnd: 65536,
    outboundStreams: 1,
    inboundStreams: 1,
    initialTsn: 7,
  },
};

describe('conformance: SCTP INIT / INIT-ACK codec', () => {
  it('computes CRC32c as RFC 3720 B.4 and the common check value give it', () => {
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it('lays an INIT out as RFC 9260 3.3.2 says, checksum little-endian at offset 8', () => {
    const bytes = encodeSctp(init);
    assert.equal(bytes.length, 32);
    assert.equal(bytes.toString('hex', 0, 8), '9c40005000000000');
    assert.equal(bytes.toString('hex', 12), '0100001401020304000100000001000100000007');
    const zeroed = Buffer.from(bytes);
    zeroed.writeUInt32LE(0, 8);
    assert.equal(bytes.readUInt32LE(8), crc32c(zeroed));
  });

  it('pads an INIT-ACK whose State Cookie is not a multiple of 4 bytes', () => {
    const bytes = encodeSctp({
      ...init,
      verificationTag: 9,
      chunk: { ...init.chunk, type: CHUNK_INIT_ACK, stateCookie: Uint8Array.of(1, 2, 3) },
    });
    assert.equal(bytes.readUInt16BE(14), 27, 'chunk length excludes the padding');
    assert.equal(bytes.length, 12 + 28);
    const back = decodeSctp(bytes);
    assert.equal(back.chunk.type, CHUNK_INIT_ACK);
    if (back.chunk.type === CHUNK_INIT_ACK) assert.deepEqual([...back.chunk.stateCookie], [1, 2, 3]);
  });

  it('round-trips every valid packet', () => {
    fc.assert(
      fc.property(packets, (p) => {
        const back = decodeSctp(encodeSctp(p));
        assert.deepEqual({ ...back, chunk: { ...back.chunk } }, { ...p, chunk: { ...p.chunk } });
      }),
      { numRuns: 500 },
    );
  });

  it('rejects any single corrupted byte (checksum) with SctpDecodeError', () => {
    fc.assert(
      fc.property(packets, fc.nat(), fc.integer({ min: 1, max: 255 }), (p, at, flip) => {
        const bytes = encodeSctp(p);
        bytes[at % bytes.length]! ^= flip;
        assert.throws(() => decodeSctp(bytes), SctpDecodeError);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes arbitrary bytes to a packet or SctpDecodeError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, fixSum) => {
        // Half the inputs get a valid checksum so the decoder's structural checks are reached.
        const buf = Buffer.from(bytes);
        if (fixSum && buf.length >= 12) {
          buf.writeUInt32LE(0, 8);
          buf.writeUInt32LE(crc32c(buf), 8);
        }
        try {
          const p = decodeSctp(buf);
          assert.ok(p.chunk.type === CHUNK_INIT || p.chunk.type === CHUNK_INIT_ACK);
        } catch (err) {
          assert.ok(err instanceof SctpDecodeError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses out-of-range or protocol-violating encoder input', () => {
    assert.throws(() => encodeSctp({ ...init, srcPort: 65536 }), SctpEncodeError);
    assert.throws(() => encodeSctp({ ...init, verificationTag: 5 }), /verification tag 0/);
    assert.throws(() => encodeSctp({ ...init, chunk: { ...init.chunk, initiateTag: 0 } }), SctpEncodeError);
    assert.throws(
      () => encodeSctp({ ...init, chunk: { ...init.chunk, inboundStreams: 0 } }),
      SctpEncodeError,
    );
    assert.throws(
      () =>
        encodeSctp({
          ...init,
          chunk: { ...init.chunk, type: CHUNK_INIT_ACK, stateCookie: new Uint8Array(0) },
        }),
      /state cookie/,
    );
  });
});
