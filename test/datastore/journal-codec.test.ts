import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeHeader,
  decodeRecord,
  encodeHeader,
  encodeRecord,
  JournalDecodeError,
  type JournalRecord,
} from '../../src/datastore/journal-codec.js';

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const subdomain = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/);
const kind = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,12}$/);
// JSON round-trip is the identity on these values (no -0, undefined or NaN).
const jsonValue = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

const record: fc.Arbitrary<JournalRecord> = fc
  .record({
    rv: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    type: fc.constantFrom('ADDED', 'MODIFIED', 'DELETED') as fc.Arbitrary<JournalRecord['type']>,
    kind,
    ns: fc.option(label, { nil: undefined }),
    name: subdomain,
    spec: jsonValue,
    labels: fc.dictionary(label, fc.string()).map((d) => ({ ...d })),
  })
  .map(({ rv, type, kind, ns, name, spec, labels }) => {
    const metadata = {
      name,
      resourceVersion: String(rv),
      labels,
      ...(ns === undefined ? {} : { namespace: ns }),
    };
    const r: JournalRecord = { rv, type, kind, name, object: { apiVersion: 'v1', kind, metadata, spec } };
    if (ns !== undefined) r.ns = ns;
    return r;
  });

const decodesOrRefuses = (line: string): void => {
  try {
    decodeRecord(line);
  } catch (e) {
    if (!(e instanceof JournalDecodeError)) throw e;
  }
};

describe('journal codec', () => {
  it('records round-trip and encode to one line', () => {
    fc.assert(
      fc.property(record, (r) => {
        const line = encodeRecord(r);
        assert.equal(line.includes('\n'), false);
        assert.ok(line.startsWith(`{"rv":${r.rv},`));
        assert.deepEqual(decodeRecord(line), r);
      }),
    );
  });

  it('headers round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (baseRv) => {
        assert.deepEqual(decodeHeader(encodeHeader({ baseRv })), { baseRv });
      }),
    );
  });

  it('a torn (strict prefix of a) record line is refused', () => {
    fc.assert(
      fc.property(record, fc.nat(), (r, cut) => {
        const line = encodeRecord(r);
        assert.throws(() => decodeRecord(line.slice(0, cut % line.length)), JournalDecodeError);
      }),
    );
  });

  it('arbitrary text only ever decodes or fails with JournalDecodeError', () => {
    fc.assert(fc.property(fc.string(), decodesOrRefuses));
    fc.assert(fc.property(fc.json(), decodesOrRefuses));
    fc.assert(fc.property(fc.json(), (s) => void assert.throws(() => decodeHeader(s), JournalDecodeError)));
  });

  it('refuses records whose key, version or type disagree with their object', () => {
    const good: JournalRecord = {
      rv: 3,
      type: 'ADDED',
      kind: 'Pod',
      ns: 'default',
      name: 'a',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'a', namespace: 'default', resourceVersion: '3' },
      },
    };
    assert.deepEqual(decodeRecord(encodeRecord(good)), good);
    const variants: unknown[] = [
      { ...good, name: 'b' },
      { ...good, ns: undefined },
      { ...good, kind: 'Node' },
      { ...good, rv: 4 },
      {
        ...good,
        rv: 0,
        object: { ...good.object, metadata: { ...good.object.metadata, resourceVersion: '0' } },
      },
      { ...good, type: 'BOOKMARK' },
      { ...good, object: null },
      { ...good, object: { ...good.object, metadata: { ...good.object.metadata, name: 'B' } } },
    ];
    for (const v of variants) {
      assert.throws(() => decodeRecord(JSON.stringify(v)), JournalDecodeError, JSON.stringify(v));
    }
  });
});
