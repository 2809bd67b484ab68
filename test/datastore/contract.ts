// Datastore contract cases that hold word for word for every implementation (the file store and
// the Kubernetes store on the API server stand-in): each store's test file runs them with its
// own way of opening a store.
import assert from 'node:assert/strict';
import type { Datastore, WatchEvent, WatchHandle } from '../../src/datastore/types.js';
import { pod, pool, until } from './helpers.js';

export const watchSummary = (e: WatchEvent): string =>
  `${e.type} ${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}@${e.object.metadata.resourceVersion}`;

/** Registers the shared cases in the calling describe; `handles` are stopped by the caller. */
export function sharedContractCases(open: () => Promise<Datastore>, handles: WatchHandle[]): void {
  it('resourceVersion is store-wide and monotonic across kinds', async () => {
    const ds = await open();
    const a = await ds.create(pod('a'));
    const b = await ds.create(pool('p1', '10.0.0.0/16'));
    const a2 = await ds.update({ ...a, spec: { x: 1 } });
    assert.deepEqual(
      [a, b, a2].map((o) => o.metadata.resourceVersion),
      ['1', '2', '3'],
    );
    assert.equal(b.metadata.namespace, undefined);
  });

  it('watch replays every change after a resourceVersion, in order, then follows live changes', async () => {
    const ds = await open();
    const a = await ds.create(pod('a'));
    await ds.create(pool('p', '10.0.0.0/8'));
    await ds.update({ ...a, spec: { n: 1 } });
    await ds.create(pod('b', 'other'));
    const seen: string[] = [];
    handles.push(ds.watch('Pod', { resourceVersion: '1' }, { onEvent: (e) => seen.push(watchSummary(e)) }));
    await until(() => seen.length === 2, 'replay');
    await ds.delete('Pod', 'a', 'default');
    await until(() => seen.length === 3, 'live delete');
    assert.deepEqual(seen, ['MODIFIED default/a@3', 'ADDED other/b@4', 'DELETED default/a@5']);
  });

  it('list then watch from its resourceVersion misses nothing and repeats nothing', async () => {
    const ds = await open();
    for (let i = 0; i < 5; i++) await ds.create(pod(`p${i}`));
    const listed = await ds.list('Pod');
    const writes = (async () => {
      for (let i = 5; i < 25; i++) await ds.create(pod(`p${i}`));
    })();
    const names = new Set(listed.items.map((o) => o.metadata.name));
    const dupes: string[] = [];
    handles.push(
      ds.watch(
        'Pod',
        { resourceVersion: listed.resourceVersion },
        {
          onEvent: (e) => {
            if (names.has(e.object.metadata.name)) dupes.push(e.object.metadata.name);
            names.add(e.object.metadata.name);
          },
        },
      ),
    );
    await writes;
    await until(() => names.size === 25, 'all pods');
    assert.deepEqual(dupes, []);
  });
}
