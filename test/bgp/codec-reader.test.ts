import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BgpError, type CodecOptions, encodeMessage, MessageReader } from '../../bgp/codec/index.js';
import { message } from './fixtures/codec-arbitraries.js';
import { hex } from './fixtures/codec-bytes.js';

const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false };
const KEEPALIVE = hex(`${'ff'.repeat(16)} 0013 04`);

/** Cuts bytes at the given (sorted, deduplicated) offsets. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

describe('bgp codec: MessageReader', () => {
  it('returns the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(message(OPTS), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (msgs, cuts) => {
          const frames = msgs.map((m) => encodeMessage(m, OPTS));
          const reader = new MessageReader();
          const got: Buffer[] = [];
          for (const chunk of split(Buffer.concat(frames), cuts)) {
            reader.push(chunk);
            for (let f = reader.nextFrame(OPTS); f !== undefined; f = reader.nextFrame(OPTS))
              got.push(Buffer.from(f));
          }
          assert.deepStrictEqual(got, frames);
          assert.equal(reader.bufferedBytes, 0);
        },
      ),
    );
  });

  it('decodes with the options given at each read', () => {
    const reader = new MessageReader();
    reader.push(Buffer.concat([KEEPALIVE, KEEPALIVE.subarray(0, 10)]));
    assert.deepStrictEqual(reader.next(OPTS), { type: 'keepalive' });
    assert.equal(reader.next(OPTS), undefined);
    reader.push(KEEPALIVE.subarray(10));
    assert.deepStrictEqual(reader.next(OPTS), { type: 'keepalive' });
  });

  it('rejects a bad marker (1/1) and a bad length (1/2) without consuming anything', () => {
    const reader = new MessageReader();
    const bad = Buffer.from(KEEPALIVE);
    bad[3] = 0;
    reader.push(bad);
    assert.throws(
      () => reader.nextFrame(OPTS),
      (e: unknown) => e instanceof BgpError && e.code === 1 && e.subcode === 1,
    );
    assert.equal(reader.bufferedBytes, 19);

    const long = Buffer.from(KEEPALIVE);
    long.writeUInt16BE(4097, 16);
    const r2 = new MessageReader();
    r2.push(long);
    assert.throws(
      () => r2.nextFrame(OPTS),
      (e: unknown) => e instanceof BgpError && e.code === 1 && e.subcode === 2 && e.data.equals(hex('1001')),
    );
    // With extended messages 4097 is a legal length: the reader now waits for the rest.
    assert.equal(r2.nextFrame({ ...OPTS, extendedMessage: true }), undefined);

    const short = Buffer.from(KEEPALIVE);
    short.writeUInt16BE(18, 16);
    const r3 = new MessageReader();
    r3.push(short);
    assert.throws(
      () => r3.nextFrame(OPTS),
      (e: unknown) => e instanceof BgpError && e.subcode === 2,
    );
  });
});
