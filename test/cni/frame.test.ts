import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeReply,
  decodeRequest,
  decodeRequestPrefix,
  encodeReply,
  encodeRequest,
  FrameError,
  MAX_ENV_COUNT,
  MAX_PAYLOAD_BYTES,
  type RequestFrame,
} from '../../agent/cni/frame.js';

const envKey = fc.stringMatching(/^CNI_[A-Z_]{1,12}$/);
// fast-check builds null-prototype objects; the decoder returns ordinary ones.
const requestFrame: fc.Arbitrary<RequestFrame> = fc
  .record({
    env: fc.dictionary(envKey, fc.string({ unit: 'grapheme' })),
    stdin: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
  })
  .map((f) => ({ env: { ...f.env }, stdin: f.stdin }));
const replyFrame = fc
  .record({
    exitCode: fc.integer({ min: 0, max: 0xffffffff }),
    stdout: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
    stderr: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
  })
  .map((f) => ({ ...f }));

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};

describe('cni frame codec', () => {
  it('lays out a request as documented', () => {
    const wire = encodeRequest({ env: { CNI_COMMAND: 'ADD' }, stdin: Buffer.from('{}') });
    assert.deepEqual(
      wire,
      Buffer.concat([
        Buffer.from('TCNI'),
        u32(1),
        u32(1),
        u32(15),
        Buffer.from('CNI_COMMAND=ADD'),
        u32(2),
        Buffer.from('{}'),
      ]),
    );
  });

  it('lays out a reply as documented', () => {
    const wire = encodeReply({ exitCode: 1, stdout: Buffer.from('out'), stderr: Buffer.from('e') });
    assert.deepEqual(wire, Buffer.concat([u32(1), u32(3), Buffer.from('out'), u32(1), Buffer.from('e')]));
  });

  it('round-trips requests (property)', () => {
    fc.assert(
      fc.property(requestFrame, (frame) => {
        assert.deepEqual(decodeRequest(encodeRequest(frame)), frame);
      }),
    );
  });

  it('round-trips replies (property)', () => {
    fc.assert(
      fc.property(replyFrame, (frame) => {
        assert.deepEqual(decodeReply(encodeReply(frame)), frame);
      }),
    );
  });

  it('reports every strict prefix of a request as incomplete, never as an error (property)', () => {
    fc.assert(
      fc.property(requestFrame, fc.nat(), (frame, cut) => {
        const wire = encodeRequest(frame);
        assert.equal(decodeRequestPrefix(wire.subarray(0, cut % wire.length)), undefined);
        assert.equal(decodeRequestPrefix(wire)?.length, wire.length);
      }),
    );
  });

  it('decodes arbitrary bytes to a frame, incomplete or FrameError only (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), requestFrame, fc.nat(), (noise, frame, at) => {
        const wire = encodeRequest(frame);
        const corrupted = Buffer.concat([wire.subarray(0, at % (wire.length + 1)), noise]);
        for (const input of [Buffer.from(noise), corrupted]) {
          try {
            decodeRequestPrefix(input);
          } catch (e) {
            assert.ok(e instanceof FrameError, String(e));
          }
        }
      }),
    );
  });

  const rejects = (wire: Buffer, message: RegExp) => assert.throws(() => decodeRequestPrefix(wire), message);

  it('rejects a wrong magic as soon as the first byte differs', () => {
    rejects(Buffer.from('X'), /bad magic/);
    rejects(Buffer.from('TCNX'), /bad magic/);
  });

  it('rejects an unknown frame version', () => {
    rejects(Buffer.concat([Buffer.from('TCNI'), u32(2)]), /unsupported frame version 2, expected 1/);
  });

  it('rejects oversized fields from their length prefix alone', () => {
    rejects(Buffer.concat([Buffer.from('TCNI'), u32(1), u32(MAX_ENV_COUNT + 1)]), /4097 environment entries/);
    rejects(
      Buffer.concat([Buffer.from('TCNI'), u32(1), u32(1), u32(MAX_PAYLOAD_BYTES + 1)]),
      /environment is 1048577 bytes/,
    );
    rejects(
      Buffer.concat([Buffer.from('TCNI'), u32(1), u32(0), u32(MAX_PAYLOAD_BYTES + 1)]),
      /stdin is 1048577 bytes/,
    );
    assert.throws(
      () => decodeReply(Buffer.concat([u32(0), u32(MAX_PAYLOAD_BYTES + 1)])),
      /stdout is 1048577 bytes, more than the limit of 1048576/,
    );
  });

  it('accepts a stdin of exactly the limit', () => {
    const stdin = Buffer.alloc(MAX_PAYLOAD_BYTES, 0x20);
    assert.equal(decodeRequest(encodeRequest({ env: {}, stdin })).stdin.length, MAX_PAYLOAD_BYTES);
    assert.throws(() => encodeRequest({ env: {}, stdin: Buffer.alloc(MAX_PAYLOAD_BYTES + 1) }), FrameError);
  });

  it('rejects malformed and duplicate environment entries', () => {
    const entry = (s: string) => [u32(Buffer.byteLength(s)), Buffer.from(s)];
    const frame = (...entries: string[]) =>
      Buffer.concat([Buffer.from('TCNI'), u32(1), u32(entries.length), ...entries.flatMap(entry), u32(0)]);
    rejects(frame('NOEQUALS'), /environment entry 0 is not KEY=VALUE/);
    rejects(frame('=value'), /environment entry 0 is not KEY=VALUE/);
    rejects(frame('CNI_A=1', 'CNI_A=2'), /environment variable CNI_A appears twice/);
    assert.throws(
      () => encodeRequest({ env: { 'A=B': 'x' }, stdin: Buffer.alloc(0) }),
      /name "A=B" is invalid/,
    );
  });

  it('rejects trailing bytes and truncation in whole-buffer decoding', () => {
    const wire = encodeRequest({ env: {}, stdin: Buffer.from('x') });
    assert.throws(
      () => decodeRequest(Buffer.concat([wire, Buffer.from('!')])),
      /1 bytes after the request frame/,
    );
    assert.throws(() => decodeRequest(wire.subarray(0, -1)), /truncated request frame/);
    const reply = encodeReply({ exitCode: 0, stdout: Buffer.from('x'), stderr: Buffer.alloc(0) });
    assert.throws(() => decodeReply(reply.subarray(0, -1)), /truncated reply frame/);
    assert.throws(
      () => decodeReply(Buffer.concat([reply, Buffer.from('!')])),
      /1 bytes after the reply frame/,
    );
  });
});
