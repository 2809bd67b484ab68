import assert from 'node:assert/strict';
import {
  BgpError,
  type Capability,
  type CodecOptions,
  decodeMessage,
  encodeMessage,
  type OpenMessage,
  openAsField,
  peerAsn,
  unsupportedCapabilityError,
} from '../../bgp/codec/index.js';
import { frame, hex } from './fixtures/codec-bytes.js';

const OPTS: CodecOptions = { fourOctetAs: false, extendedMessage: false };

function openBody(fixed: string, params: string, optLen?: number): Buffer {
  const p = hex(params);
  return frame(1, Buffer.concat([hex(fixed), Buffer.from([optLen ?? p.length]), p]));
}

const FIXED = '04 fde9 00b4 0a000001';

function assertBgpError(fn: () => unknown, code: number, subcode: number, data?: Buffer): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BgpError, `expected BgpError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.subcode, subcode);
    if (data !== undefined) assert.deepStrictEqual(err.data, data);
    return true;
  });
}

describe('bgp codec: OPEN', () => {
  it('accepts capabilities spread over several optional parameters (Junos, FRR)', () => {
    const msg = decodeMessage(openBody(FIXED, '02 02 02 00  02 08 01 04 0001 00 01 46 00'), OPTS);
    assert.deepStrictEqual(msg.type === 'open' && msg.capabilities, [
      { kind: 'route-refresh' },
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'enhanced-route-refresh' },
    ]);
  });

  it('decodes the RFC 9072 extended optional parameters format', () => {
    // Non-Ext OP Len 255 (ignored), Non-Ext OP Type 255, Extended Length 9, one parameter with a 2-octet length.
    const bytes = frame(1, hex(`${FIXED} ff ff 0009 02 0006 41 04 fa56ea01`));
    const msg = decodeMessage(bytes, OPTS);
    assert.deepStrictEqual(msg.type === 'open' && msg.capabilities, [
      { kind: 'four-octet-as', asn: 4200000001 },
    ]);
  });

  it('switches to the extended format only when the capabilities exceed 255 octets', () => {
    const many: Capability[] = Array.from({ length: 70 }, (_, i) => ({
      kind: 'multiprotocol',
      afi: i,
      safi: 1,
    }));
    const open: OpenMessage = {
      type: 'open',
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: many,
    };
    const bytes = encodeMessage(open, OPTS);
    // 70 capabilities of 6 octets: one parameter of 420 octets, 3-octet parameter header.
    assert.deepStrictEqual(bytes.subarray(28, 35), hex('ff ff 01a7 02 01a4'));
    assert.equal(bytes.length, 29 + 3 + 3 + 420);
    assert.deepStrictEqual(decodeMessage(bytes, OPTS), open);
    const few = encodeMessage({ ...open, capabilities: many.slice(0, 42) }, OPTS);
    assert.deepStrictEqual(few.subarray(28, 31), hex('fe 02 fc'));
  });

  it('keeps unknown capabilities raw and can name them in NOTIFICATION 2/7', () => {
    const msg = decodeMessage(openBody(FIXED, '02 05 49 03 616263'), OPTS);
    const caps = msg.type === 'open' ? msg.capabilities : [];
    assert.deepStrictEqual(caps, [{ kind: 'unknown', code: 73, value: Buffer.from('abc') }]);
    const err = unsupportedCapabilityError(caps);
    assert.equal(err.code, 2);
    assert.equal(err.subcode, 7);
    assert.deepStrictEqual(err.data, hex('49 03 616263'));
  });

  it('reports version, AS 0, hold time, identifier and parameter errors with their subcodes', () => {
    assertBgpError(() => decodeMessage(openBody('03 fde9 00b4 0a000001', ''), OPTS), 2, 1, hex('0004'));
    assertBgpError(() => decodeMessage(openBody('04 0000 00b4 0a000001', ''), OPTS), 2, 2);
    assertBgpError(() => decodeMessage(openBody('04 fde9 0000 00000000', ''), OPTS), 2, 3);
    assertBgpError(() => decodeMessage(openBody('04 fde9 0002 0a000001', ''), OPTS), 2, 6);
    assertBgpError(() => decodeMessage(openBody(FIXED, '01 02 0000'), OPTS), 2, 4);
  });

  it('rejects malformed capabilities and parameter lengths that disagree with the message', () => {
    // Multiprotocol with 3 octets.
    assertBgpError(
      () => decodeMessage(openBody(FIXED, '02 05 01 03 000101'), OPTS),
      2,
      0,
      hex('01 03 000101'),
    );
    // Capability overruns its parameter.
    assertBgpError(() => decodeMessage(openBody(FIXED, '02 03 41 04 00'), OPTS), 2, 0);
    // Optional Parameters Length says 9, 4 octets follow.
    assertBgpError(() => decodeMessage(openBody(FIXED, '02 02 02 00', 9), OPTS), 1, 2);
    // OPEN shorter than 29 octets.
    assertBgpError(() => decodeMessage(frame(1, hex('04 fde9 00b4')), OPTS), 1, 2, hex('0018'));
  });

  it('never exceeds 4096 octets, even with extended messages (RFC 8654 section 4)', () => {
    const huge: Capability[] = Array.from({ length: 20 }, (_, code) => ({
      kind: 'unknown',
      code: 100 + code,
      value: Buffer.alloc(250),
    }));
    const open: OpenMessage = { type: 'open', myAs: 1, holdTime: 0, bgpId: '1.1.1.1', capabilities: huge };
    assert.throws(() => encodeMessage(open, { fourOctetAs: true, extendedMessage: true }), {
      name: 'BgpEncodeError',
    });
  });

  it('refuses to encode values the peer would reject', () => {
    const base: OpenMessage = {
      type: 'open',
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: [],
    };
    for (const bad of [
      { myAs: 70000 },
      { myAs: 0 },
      { holdTime: 2 },
      { bgpId: '0.0.0.0' },
      { bgpId: '10.0.0' },
    ]) {
      assert.throws(() => encodeMessage({ ...base, ...bad }, OPTS), { name: 'BgpEncodeError' });
    }
  });

  it('puts AS_TRANS in My Autonomous System above 65535 and reads the real AS from capability 65', () => {
    assert.equal(openAsField(65001), 65001);
    assert.equal(openAsField(65536), 23456);
    assert.equal(openAsField(4200000001), 23456);
    const open: OpenMessage = {
      type: 'open',
      myAs: openAsField(4200000001),
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: [{ kind: 'four-octet-as', asn: 4200000001 }],
    };
    assert.equal(peerAsn(open), 4200000001);
    assert.equal(peerAsn({ ...open, capabilities: [] }), 23456);
  });
});
