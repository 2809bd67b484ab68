import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LabInputError, LabStateError } from '../../src/lab/errors.js';
import { parseProcStat } from '../../src/lab/proc.js';
import {
  claimState,
  decodeLabState,
  encodeLabState,
  type LabState,
  listStatePaths,
  readState,
  removeState,
  validateStateDir,
  writeState,
} from '../../src/lab/state.js';

// noNullPrototype: decoded state is made of plain objects, and deepEqual compares prototypes.
const plain = { noNullPrototype: true };
const identity = fc.record(
  { pid: fc.integer({ min: 1, max: 4194304 }), startTime: fc.bigInt({ min: 0n }).map(String) },
  plain,
);
const labState: fc.Arbitrary<LabState> = fc.record(
  {
    prefix: fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/),
    owner: fc.option(identity, { nil: null }),
    createdAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    namespaces: fc.array(fc.string({ minLength: 1 }), { maxLength: 5 }),
    processes: fc.array(
      fc.record(
        {
          pid: fc.integer({ min: 1, max: 4194304 }),
          startTime: fc.bigInt({ min: 0n }).map(String),
          ns: fc.string(),
          command: fc.array(fc.string(), { maxLength: 4 }),
        },
        plain,
      ),
      { maxLength: 4 },
    ),
  },
  plain,
);

describe('lab state file', () => {
  it('decode(encode(state)) is state', () => {
    fc.assert(
      fc.property(labState, (state) => assert.deepEqual(decodeLabState(encodeLabState(state), 'x'), state)),
    );
  });

  it('decoding arbitrary text either succeeds or throws LabStateError naming the file', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), labState.map(encodeLabState).map(mutate)), (text) => {
        try {
          decodeLabState(text, '/run/trellis-lab/x.json');
        } catch (err) {
          assert.ok(err instanceof LabStateError, String(err));
          assert.match(err.message, /\/run\/trellis-lab\/x\.json/);
        }
      }),
    );
  });

  it('names what is wrong', () => {
    const good = JSON.parse(
      encodeLabState({ prefix: 'tab', owner: null, createdAt: 'now', namespaces: [], processes: [] }),
    );
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...good, version: 2 }, /unsupported version 2/],
      [{ ...good, prefix: 'Bad' }, /prefix/],
      [{ ...good, owner: { pid: -1, startTime: '1' } }, /owner/],
      [{ ...good, namespaces: [''] }, /namespaces/],
      [{ ...good, processes: [{ pid: 1, startTime: 'x', ns: 'a', command: [] }] }, /processes/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(
        () => decodeLabState(JSON.stringify(raw), 'f'),
        (err: unknown) => {
          return err instanceof LabStateError && message.test(err.message);
        },
      );
    }
    assert.throws(() => decodeLabState('{', 'f'), /not JSON/);
  });

  it('claims a prefix exclusively, rewrites atomically, lists and removes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-lab-state-'));
    try {
      const state: LabState = {
        prefix: 'tabc',
        owner: null,
        createdAt: 'now',
        namespaces: [],
        processes: [],
      };
      const path = claimState(join(dir, 'sub'), state);
      assert.throws(() => claimState(join(dir, 'sub'), state), LabInputError);
      writeState(path, { ...state, namespaces: ['tabc-a'] });
      assert.deepEqual(readState(path).namespaces, ['tabc-a']);
      assert.deepEqual(listStatePaths(join(dir, 'sub')), [path]);
      removeState(path);
      removeState(path);
      assert.deepEqual(listStatePaths(join(dir, 'sub')), []);
      assert.deepEqual(listStatePaths(join(dir, 'missing')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects state dirs that cannot be embedded in a loopback alias', () => {
    for (const dir of ['relative', '/with space', '/quo"te']) {
      assert.throws(() => validateStateDir(dir), LabInputError, dir);
    }
  });
});

describe('/proc/<pid>/stat parsing', () => {
  it('reads state and start time, even when comm holds spaces and parentheses', () => {
    const tail = 'S 1 2 3 0 -1 4194304 103 0 0 0 0 0 0 0 20 0 1 0 118654 3133440 380';
    assert.deepEqual(parseProcStat(`42 (cat) ${tail}`), { state: 'S', startTime: '118654' });
    assert.deepEqual(parseProcStat(`42 (a) b (c)) ${tail}`), { state: 'S', startTime: '118654' });
    assert.equal(parseProcStat('42 (cat) S 1 2'), undefined);
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('finds field 22 for any comm', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 15 }), fc.bigInt({ min: 0n }), (comm, start) => {
        const fields = ['R', ...Array.from({ length: 18 }, (_, i) => String(i)), String(start), '7', '8'];
        assert.deepEqual(parseProcStat(`9 (${comm}) ${fields.join(' ')}`), {
          state: 'R',
          startTime: String(start),
        });
      }),
    );
  });
});

/** Flips one character: near-miss inputs exercise the field checks, not just JSON.parse. */
function mutate(text: string): string {
  const i = Math.floor(text.length / 2);
  return text.slice(0, i) + (text[i] === '1' ? '2' : '1') + text.slice(i + 1);
}
