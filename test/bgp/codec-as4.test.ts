import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type AsPathSegment,
  asPathLength,
  type CodecOptions,
  type DecodedMessage,
  decodeMessage,
  mergeAs4Path,
} from '../../bgp/codec/index.js';
import { twoOctetSafePath } from './fixtures/codec-arbitraries.js';
import { MANDATORY_ATTRIBUTES, ONE_PREFIX, updateBytes } from './fixtures/codec-bytes.js';

const OLD: CodecOptions = { fourOctetAs: false, extendedMessage: false };
const NEW: CodecOptions = { fourOctetAs: true, extendedMessage: false };

const seq = (...asns: number[]): AsPathSegment => ({ type: 'sequence', asns });
const set = (...asns: number[]): AsPathSegment => ({ type: 'set', asns });
const confed = (...asns: number[]): AsPathSegment => ({ type: 'confed-sequence', asns });
const BIG = 4200000001;
const BIG2 = 4200000002;
const T = 23456;

function attributesOf(msg: DecodedMessage) {
  assert.equal(msg.type, 'update');
  return msg.type === 'update' ? msg : assert.fail('not an update');
}

describe('bgp codec: RFC 6793 AS4 handling', () => {
  describe('mergeAs4Path (section 4.2.3)', () => {
    it('takes AS4_PATH whole when both count the same', () => {
      assert.deepStrictEqual(mergeAs4Path([seq(65001, T, 65002)], [seq(65001, BIG, 65002)]), [
        seq(65001, BIG, 65002),
      ]);
    });

    it('prepends the ASes old speakers added after the last new speaker, continuing the sequence', () => {
      assert.deepStrictEqual(mergeAs4Path([seq(10, 20, T, 30)], [seq(BIG, 30)]), [seq(10, 20, BIG, 30)]);
    });

    it('ignores AS4_PATH when it is longer than AS_PATH', () => {
      assert.deepStrictEqual(mergeAs4Path([seq(10, T)], [seq(1, 2, BIG)]), [seq(10, T)]);
    });

    it('counts an AS_SET as one and confederation segments as none', () => {
      assert.equal(asPathLength([confed(1, 2), seq(3, 4), set(5, 6, 7)]), 3);
      assert.deepStrictEqual(mergeAs4Path([set(10, 11), seq(T)], [seq(BIG)]), [set(10, 11), seq(BIG)]);
    });

    it('keeps leading confederation segments and drops any inside AS4_PATH', () => {
      assert.deepStrictEqual(mergeAs4Path([confed(64512), seq(T, 20)], [confed(64513), seq(BIG, 20)]), [
        confed(64512),
        seq(BIG, 20),
      ]);
    });

    it('does not fuse whole segments taken from AS_PATH', () => {
      assert.deepStrictEqual(mergeAs4Path([seq(10), seq(T, 20)], [seq(BIG, 20)]), [seq(10), seq(BIG, 20)]);
    });

    it('keeps the path length of AS_PATH and ends with the AS numbers of AS4_PATH', () => {
      const flat = (path: AsPathSegment[]): number[] =>
        path.filter((s) => s.type === 'sequence' || s.type === 'set').flatMap((s) => s.asns);
      fc.assert(
        fc.property(twoOctetSafePath, twoOctetSafePath, (asPath, as4Path) => {
          const merged = mergeAs4Path(asPath, as4Path);
          assert.equal(asPathLength(merged), asPathLength(asPath));
          if (asPathLength(asPath) >= asPathLength(as4Path)) {
            assert.deepStrictEqual(
              flat(merged).slice(flat(merged).length - flat(as4Path).length),
              flat(as4Path),
            );
          } else {
            assert.deepStrictEqual(merged, asPath);
          }
        }),
      );
    });
  });

  describe('decoding from an old (two-octet) speaker', () => {
    // ORIGIN, AS_PATH [65001 AS_TRANS], NEXT_HOP
    const base = '40 01 01 00  40 02 06 02 02 fde9 5ba0  40 03 04 0a000001';
    const as4Path = 'c0 11 0a 02 02 0000fde9 fa56ea01';

    it('merges AS4_PATH into the path', () => {
      const msg = attributesOf(
        decodeMessage(updateBytes({ attributes: `${base} ${as4Path}`, nlri: ONE_PREFIX }), OLD),
      );
      assert.deepStrictEqual(msg.attributes[1], { type: 'as-path', segments: [seq(65001, BIG)] });
      assert.equal(msg.attributes.length, 3);
      assert.deepStrictEqual(msg.handling, { kind: 'ok' });
    });

    it('uses AS4_AGGREGATOR when AGGREGATOR is AS_TRANS', () => {
      const attrs = `${base} ${as4Path} c0 07 06 5ba0 0a000002  c0 12 08 fa56ea02 0a000002`;
      const msg = attributesOf(decodeMessage(updateBytes({ attributes: attrs, nlri: ONE_PREFIX }), OLD));
      assert.deepStrictEqual(
        msg.attributes.find((a) => a.type === 'aggregator'),
        { type: 'aggregator', asn: BIG2, address: '10.0.0.2' },
      );
      assert.deepStrictEqual(msg.attributes[1], { type: 'as-path', segments: [seq(65001, BIG)] });
    });

    it('ignores both AS4 attributes when AGGREGATOR is a real two-octet AS', () => {
      const attrs = `${base} ${as4Path} c0 07 06 fdea 0a000002  c0 12 08 fa56ea02 0a000002`;
      const msg = attributesOf(decodeMessage(updateBytes({ attributes: attrs, nlri: ONE_PREFIX }), OLD));
      assert.deepStrictEqual(
        msg.attributes.find((a) => a.type === 'aggregator'),
        { type: 'aggregator', asn: 65002, address: '10.0.0.2' },
      );
      assert.deepStrictEqual(msg.attributes[1], { type: 'as-path', segments: [seq(65001, T)] });
    });

    it('discards a malformed AS4_PATH and keeps the routes', () => {
      const msg = attributesOf(
        decodeMessage(updateBytes({ attributes: `${base} c0 11 06 02 00 00000001`, nlri: ONE_PREFIX }), OLD),
      );
      assert.deepStrictEqual(msg.attributes[1], { type: 'as-path', segments: [seq(65001, T)] });
      assert.equal(msg.handling.kind, 'attribute-discard');
      assert.equal(msg.handling.kind === 'attribute-discard' && msg.handling.problems[0]?.typeCode, 17);
    });
  });

  it('discards AS4_PATH and AS4_AGGREGATOR between new speakers', () => {
    const attrs = `${MANDATORY_ATTRIBUTES} c0 11 0a 02 02 0000fde9 fa56ea01  c0 12 08 fa56ea02 0a000002`;
    const msg = attributesOf(decodeMessage(updateBytes({ attributes: attrs, nlri: ONE_PREFIX }), NEW));
    assert.deepStrictEqual(msg.attributes[1], { type: 'as-path', segments: [seq(65001)] });
    assert.equal(msg.handling.kind, 'attribute-discard');
    assert.deepStrictEqual(
      msg.handling.kind === 'attribute-discard' && msg.handling.problems.map((p) => p.typeCode),
      [17, 18],
    );
  });
});
