// Random operation sequences against the store and a plain Map model: same results, same
// errors, same state, and the same state again after reopening and after replaying a watch from 0.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FileDatastore } from '../../src/datastore/file.js';
import { DatastoreError, type Resource } from '../../src/datastore/types.js';
import { pod, TempDirs, until } from './helpers.js';

type Op =
  | { op: 'create'; ns: string; name: string; n: number }
  | { op: 'update'; ns: string; name: string; n: number; stale: boolean }
  | { op: 'delete'; ns: string; name: string; cas: 'none' | 'current' | 'stale' };

const target = { ns: fc.constantFrom('default', 'other'), name: fc.constantFrom('a', 'b', 'c') };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), ...target, n: fc.nat(9) }),
  fc.record({ op: fc.constant('update' as const), ...target, n: fc.nat(9), stale: fc.boolean() }),
  fc.record({
    op: fc.constant('delete' as const),
    ...target,
    cas: fc.constantFrom('none', 'current', 'stale'),
  }),
);

interface ModelEntry {
  rv: number;
  n: number;
}

const outcome = async (p: Promise<unknown>): Promise<string> => {
  try {
    const r = await p;
    return r === undefined ? 'ok' : `ok@${(r as Resource).metadata.resourceVersion}`;
  } catch (e) {
    if (e instanceof DatastoreError) return e.reason;
    throw e;
  }
};

const stateOf = (items: Resource[]) =>
  items.map(
    (o) =>
      `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}=${(o.spec as { n: number }).n}`,
  );

describe('FileDatastore against a model', () => {
  const dirs = new TempDirs();
  afterEach(() => dirs.removeAll());

  it('random create/update/delete sequences behave like the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const dir = dirs.make();
        const ds = await FileDatastore.open(dir);
        const model = new Map<string, ModelEntry>();
        let rv = 0;
        try {
          for (const o of ops) {
            const key = `${o.ns}/${o.name}`;
            const cur = model.get(key);
            // The version the caller sends: the current one, or one that is certainly stale.
            const sentRv = (stale: boolean) => String(cur === undefined ? 1 : stale ? cur.rv - 1 : cur.rv);
            let expected: string;
            let got: string;
            if (o.op === 'create') {
              expected = cur ? 'AlreadyExists' : `ok@${rv + 1}`;
              got = await outcome(ds.create(pod(o.name, o.ns, { n: o.n })));
              if (!cur) model.set(key, { rv: ++rv, n: o.n });
            } else if (o.op === 'update') {
              const metadata = { name: o.name, namespace: o.ns, resourceVersion: sentRv(o.stale) };
              const changes = cur !== undefined && !o.stale && cur.n !== o.n;
              expected = !cur ? 'NotFound' : o.stale ? 'Conflict' : changes ? `ok@${rv + 1}` : `ok@${cur.rv}`;
              got = await outcome(ds.update({ ...pod(o.name, o.ns, { n: o.n }), metadata }));
              if (changes) model.set(key, { rv: ++rv, n: o.n });
            } else {
              const opts = o.cas === 'none' ? {} : { resourceVersion: sentRv(o.cas === 'stale') };
              expected = !cur ? 'NotFound' : o.cas === 'stale' ? 'Conflict' : 'ok';
              got = await outcome(ds.delete('Pod', o.name, o.ns, opts));
              if (expected === 'ok') {
                model.delete(key);
                rv++;
              }
            }
            assert.equal(got, expected, JSON.stringify(o));
          }
          const want = [...model.entries()]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, e]) => `${k}@${e.rv}=${e.n}`);
          const listed = await ds.list('Pod');
          assert.equal(listed.resourceVersion, String(rv));
          assert.deepEqual(stateOf(listed.items), want);
          const reopened = await FileDatastore.open(dir);
          try {
            assert.deepEqual(stateOf((await reopened.list('Pod')).items), want);
          } finally {
            await reopened.close();
          }
          // Replaying the whole journal from version 0 rebuilds the same state.
          const replayed = new Map<string, Resource>();
          let events = 0;
          const h = ds.watch(
            'Pod',
            { resourceVersion: '0' },
            {
              onEvent: (e) => {
                events++;
                const k = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
                if (e.type === 'DELETED') replayed.delete(k);
                else replayed.set(k, e.object);
              },
            },
          );
          await until(() => events === rv, 'replay');
          h.stop();
          assert.deepEqual(
            stateOf([...replayed.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => o)),
            want,
          );
        } finally {
          await ds.close();
          dirs.removeAll();
        }
      }),
      { numRuns: 40 },
    );
  });
});
