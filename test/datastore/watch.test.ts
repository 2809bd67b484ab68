import assert from 'node:assert/strict';
import { FileDatastore } from '../../src/datastore/file.js';
import { DatastoreError, type WatchEvent, type WatchHandle } from '../../src/datastore/types.js';
import { sharedContractCases, watchSummary } from './contract.js';
import { pod, pool, TempDirs, until } from './helpers.js';

describe('FileDatastore: watch', () => {
  const dirs = new TempDirs();
  const stores: FileDatastore[] = [];
  const handles: WatchHandle[] = [];
  const openStore = async (opts = {}) => {
    const ds = await FileDatastore.open(dirs.make(), opts);
    stores.push(ds);
    return ds;
  };
  afterEach(async () => {
    for (const h of handles.splice(0)) h.stop();
    for (const ds of stores.splice(0)) await ds.close();
    dirs.removeAll();
  });

  sharedContractCases(() => openStore(), handles);

  it('DELETED carries the last state with the deletion version', async () => {
    const ds = await openStore();
    const a = await ds.create(pod('a', 'default', { image: 'x' }));
    const events: WatchEvent[] = [];
    handles.push(ds.watch('Pod', {}, { onEvent: (e) => events.push(e) }));
    await ds.delete('Pod', 'a', 'default');
    await until(() => events.length === 1, 'delete event');
    assert.deepEqual(events[0], {
      type: 'DELETED',
      object: { ...a, metadata: { ...a.metadata, resourceVersion: '2' } },
    });
  });

  it('without a resourceVersion delivers only changes from now on; filters by namespace', async () => {
    const ds = await openStore();
    await ds.create(pod('old'));
    const all: string[] = [];
    const ns1: string[] = [];
    handles.push(ds.watch('Pod', {}, { onEvent: (e) => all.push(watchSummary(e)) }));
    handles.push(ds.watch('Pod', { namespace: 'ns1' }, { onEvent: (e) => ns1.push(watchSummary(e)) }));
    await ds.create(pod('x', 'ns1'));
    await ds.create(pod('y', 'ns2'));
    await ds.create(pool('p', '10.0.0.0/8'));
    await until(() => all.length === 2 && ns1.length === 1, 'events');
    assert.deepEqual(all, ['ADDED ns1/x@2', 'ADDED ns2/y@3']);
    assert.deepEqual(ns1, ['ADDED ns1/x@2']);
  });

  it('a resourceVersion older than the retained journal fails with Gone via onError', async () => {
    const ds = await openStore({ retainRecords: 4 });
    const first = await ds.create(pod('a', 'default', { n: 0 }));
    let cur = first;
    for (let n = 1; n <= 12; n++) cur = await ds.update({ ...cur, spec: { n } });
    const errors: Error[] = [];
    const events: string[] = [];
    handles.push(
      ds.watch(
        'Pod',
        { resourceVersion: '1' },
        { onEvent: (e) => events.push(watchSummary(e)), onError: (e) => errors.push(e) },
      ),
    );
    await until(() => errors.length === 1, 'Gone');
    assert.ok(errors[0] instanceof DatastoreError && errors[0].reason === 'Gone');
    assert.deepEqual(events, []);
    // The version a fresh list returns is always watchable.
    const listed = await ds.list('Pod');
    const after: string[] = [];
    handles.push(
      ds.watch(
        'Pod',
        { resourceVersion: listed.resourceVersion },
        { onEvent: (e) => after.push(watchSummary(e)) },
      ),
    );
    await ds.update({ ...cur, spec: { n: 13 } });
    await until(() => after.length === 1, 'event after list');
    assert.deepEqual(after, ['MODIFIED default/a@14']);
  });

  it('a watch that keeps up rides through compactions without a gap', async () => {
    const ds = await openStore({ retainRecords: 3 });
    const rvs: number[] = [];
    handles.push(
      ds.watch(
        'Pod',
        { resourceVersion: '0' },
        { onEvent: (e) => rvs.push(Number(e.object.metadata.resourceVersion)) },
      ),
    );
    let cur = await ds.create(pod('a', 'default', { n: 0 }));
    for (let n = 1; n < 40; n++) cur = await ds.update({ ...cur, spec: { n } });
    await until(() => rvs.length === 40, 'all events');
    assert.deepEqual(
      rvs,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });

  it('a handler that throws ends the watch and reports the error; stop() ends delivery', async () => {
    const ds = await openStore();
    const boom = new Error('handler bug');
    const errors: Error[] = [];
    let calls = 0;
    handles.push(
      ds.watch(
        'Pod',
        {},
        {
          onEvent: () => {
            calls++;
            throw boom;
          },
          onError: (e) => errors.push(e),
        },
      ),
    );
    const stopped: string[] = [];
    const h = ds.watch('Pod', {}, { onEvent: (e) => stopped.push(watchSummary(e)) });
    h.stop();
    await ds.create(pod('a'));
    await ds.create(pod('b'));
    await until(() => errors.length === 1, 'handler error');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls, 1);
    assert.equal(errors[0], boom);
    assert.deepEqual(stopped, []);
  });
});
