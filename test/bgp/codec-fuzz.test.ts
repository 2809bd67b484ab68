// Mutation fuzzer: valid messages with bytes flipped, inserted, deleted or cut off must decode
// or fail with a BgpError carrying a NOTIFICATION code. Anything else (a RangeError from a
// buffer read, a TypeError) is a decoder bug.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BgpEncodeError,
  BgpError,
  type CodecOptions,
  decodeMessage,
  encodeMessage,
  MessageReader,
} from '../../bgp/codec/index.js';
import { message, sessionOptions } from './fixtures/codec-arbitraries.js';

type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bits: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: number[] }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'truncate'; readonly at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  // Lengths, counts and type codes live in single octets: 0x00/0xff/small values hit the edges.
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 2, 3, 4, 0x7f, 0x80, 0xfe, 0xff),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(original: Buffer, mutations: Mutation[], keepFraming: boolean): Buffer {
  let b = Buffer.from(original);
  for (const m of mutations) {
    // Mostly leave the marker alone so mutations reach the bodies, not just the 1/1 check.
    const from = keepFraming ? 16 : 0;
    const at = from + (m.at % Math.max(1, b.length - from));
    switch (m.op) {
      case 'flip':
        b[at] = (b[at] ?? 0) ^ m.bits;
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  if (keepFraming && b.length >= 18) b.writeUInt16BE(b.length, 16);
  return b;
}

/** Runs fn; returns 'ok' or the NOTIFICATION code it failed with. Rethrows anything else. */
function assertOnlyBgpError(fn: () => unknown): 'ok' | number {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof BgpError)) throw err;
    assert.ok(err.code >= 1 && err.code <= 7, `code ${err.code}`);
    assert.ok(Buffer.isBuffer(err.data));
    return err.code;
  }
}

const seeded = (seed: number, numRuns: number) => ({ seed, numRuns });

describe('bgp codec: mutation fuzzing', () => {
  const input = sessionOptions.chain((opts: CodecOptions) =>
    fc.tuple(
      fc.constant(opts),
      message(opts),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
    ),
  );

  it('decodeMessage throws nothing but BgpError (5000 mutated messages, seeded)', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(input, ([opts, msg, mutations, keepFraming]) => {
        const bytes = mutate(encodeMessage(msg, opts), mutations, keepFraming);
        let handling = '';
        const outcome = assertOnlyBgpError(() => {
          const decoded = decodeMessage(bytes, opts);
          if (decoded.type === 'update') handling = decoded.handling.kind;
        });
        outcomes.add(`${outcome}${handling}`);
      }),
      seeded(0x7606, 5000),
    );
    // The mutations must get past the header checks into every body decoder.
    for (const expected of ['ok', 'okok', 'oktreat-as-withdraw', '1', '2', '3']) {
      assert.ok(outcomes.has(expected), `no mutation produced ${expected}: ${[...outcomes].join(', ')}`);
    }
  });

  it('decodes every mutated UPDATE under both AS widths (3000, seeded)', () => {
    fc.assert(
      fc.property(input, ([opts, msg, mutations]) => {
        const bytes = mutate(encodeMessage(msg, opts), mutations, true);
        for (const fourOctetAs of [false, true]) {
          assertOnlyBgpError(() =>
            decodeMessage(bytes, { ...opts, fourOctetAs, internalPeer: !fourOctetAs }),
          );
        }
      }),
      seeded(0x6793, 3000),
    );
  });

  it('MessageReader on mutated streams throws nothing but BgpError (1000, seeded)', () => {
    fc.assert(
      fc.property(input, fc.nat(), ([opts, msg, mutations], cut) => {
        const bytes = mutate(encodeMessage(msg, opts), mutations, false);
        const reader = new MessageReader();
        const at = cut % (bytes.length + 1);
        assertOnlyBgpError(() => {
          reader.push(bytes.subarray(0, at));
          reader.push(bytes.subarray(at));
          while (reader.next(opts) !== undefined);
        });
      }),
      seeded(0x4271, 1000),
    );
  });
});

/** A copy of value with its n-th number (depth first, modulo the count) replaced by bad. */
function replaceNthNumber(value: unknown, n: number, bad: number): unknown {
  const numbers: number[] = [];
  const count = (v: unknown): void => {
    if (typeof v === 'number') numbers.push(v);
    else if (Array.isArray(v)) v.forEach(count);
    else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) Object.values(v).forEach(count);
  };
  count(value);
  if (numbers.length === 0) return value;
  let index = n % numbers.length;
  const copy = (v: unknown): unknown => {
    if (typeof v === 'number') return index-- === 0 ? bad : v;
    if (Array.isArray(v)) return v.map(copy);
    if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
    }
    return v;
  };
  return copy(value);
}

describe('bgp codec: encoder input fuzzing', () => {
  it('out-of-range numbers anywhere in a message give BgpEncodeError, never another exception (2000, seeded)', () => {
    const bad = fc.constantFrom(-1, 0.5, 256, 65536, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY);
    fc.assert(
      fc.property(
        sessionOptions.chain((opts) => fc.tuple(fc.constant(opts), message(opts))),
        fc.nat(),
        bad,
        ([opts, msg], n, value) => {
          const broken = replaceNthNumber(msg, n, value) as typeof msg;
          try {
            const bytes = encodeMessage(broken, opts);
            // Whatever was accepted must still be a well-formed message.
            assertOnlyBgpError(() => decodeMessage(bytes, opts));
          } catch (err) {
            if (!(err instanceof BgpEncodeError)) throw err;
          }
        },
      ),
      seeded(0x2918, 2000),
    );
  });
});
