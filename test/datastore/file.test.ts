import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDatastore } from '../../src/datastore/file.js';
import {
  DatastoreError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type Resource,
} from '../../src/datastore/types.js';
import { pod, pool, TempDirs } from './helpers.js';

const reason = (r: string) => (e: unknown) => e instanceof DatastoreError && e.reason === r;

describe('FileDatastore: CRUD and typed errors', () => {
  const dirs = new TempDirs();
  const open: FileDatastore[] = [];
  const openStore = async (dir = dirs.make(), opts = {}) => {
    const ds = await FileDatastore.open(dir, opts);
    open.push(ds);
    return ds;
  };
  afterEach(async () => {
    for (const ds of open.splice(0)) await ds.close();
    dirs.removeAll();
  });

  it('create assigns resourceVersion, uid and creationTimestamp; get returns the stored object', async () => {
    const ds = await openStore();
    const created = await ds.create(pod('web', 'default', { image: 'nginx' }));
    assert.equal(created.metadata.resourceVersion, '1');
    assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(await ds.get('Pod', 'web', 'default'), created);
    assert.equal(await ds.get('Pod', 'web', 'other'), undefined);
    assert.equal(await ds.get('Pod', 'web'), undefined);
  });

  it('AlreadyExists on a duplicate create, NotFound on update/delete of a missing object', async () => {
    const ds = await openStore();
    await ds.create(pod('a'));
    await assert.rejects(
      ds.create(pod('a')),
      (e) => isAlreadyExists(e) && e instanceof Error && /already exists/.test(e.message),
    );
    await assert.rejects(
      ds.update({ ...pod('zz'), metadata: { name: 'zz', namespace: 'default', resourceVersion: '1' } }),
      isNotFound,
    );
    await assert.rejects(ds.delete('Pod', 'zz', 'default'), isNotFound);
    // same name in another namespace is another object
    await ds.create(pod('a', 'kube-system'));
  });

  it('update is compare-and-swap on resourceVersion and keeps server-owned fields', async () => {
    const ds = await openStore();
    const v1 = await ds.create(pod('a', 'default', { n: 1 }));
    const v2 = await ds.update({ ...v1, spec: { n: 2 }, metadata: { ...v1.metadata, uid: 'forged' } });
    assert.equal(v2.metadata.resourceVersion, '2');
    assert.equal(v2.metadata.uid, v1.metadata.uid);
    assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
    await assert.rejects(ds.update({ ...v1, spec: { n: 3 } }), isConflict);
    assert.deepEqual((await ds.get('Pod', 'a', 'default'))?.spec, { n: 2 });
  });

  it('an update that changes nothing writes no new version', async () => {
    const ds = await openStore();
    const v1 = await ds.create(pod('a', 'default', { n: 1 }));
    const same = await ds.update(structuredClone(v1));
    assert.deepEqual(same, v1);
    assert.equal((await ds.list('Pod')).resourceVersion, '1');
  });

  it('delete with a resourceVersion is compare-and-swap', async () => {
    const ds = await openStore();
    const v1 = await ds.create(pod('a'));
    await ds.update({ ...v1, spec: { n: 2 } });
    await assert.rejects(ds.delete('Pod', 'a', 'default', { resourceVersion: '1' }), isConflict);
    assert.notEqual(await ds.get('Pod', 'a', 'default'), undefined);
    await ds.delete('Pod', 'a', 'default', { resourceVersion: '2' });
    assert.equal(await ds.get('Pod', 'a', 'default'), undefined);
    await ds.create(pod('a'));
  });

  it('rejects bad input with Invalid and writes nothing', async () => {
    const dir = dirs.make();
    const ds = await openStore(dir);
    const bad: unknown[] = [
      { ...pod('Upper') },
      { ...pod('../escape') },
      { ...pod('.hidden') },
      { apiVersion: 'v1', kind: 'Pod/x', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'bad_ns' } },
      { kind: 'Pod', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Pod' },
      { ...pod('a'), metadata: { name: 'a', namespace: 'default', resourceVersion: '7' } },
    ];
    for (const b of bad) await assert.rejects(ds.create(b as Resource), reason('Invalid'), JSON.stringify(b));
    const a = await ds.create(pod('a'));
    await assert.rejects(
      ds.update({ ...a, metadata: { ...a.metadata, resourceVersion: undefined } }),
      reason('Invalid'),
    );
    await assert.rejects(
      ds.update({ ...a, metadata: { ...a.metadata, resourceVersion: 'x1' } }),
      reason('Invalid'),
    );
    await assert.rejects(ds.delete('Pod', 'a', 'default', { resourceVersion: '-1' }), reason('Invalid'));
    await assert.rejects(ds.get('Pod', 'A'), reason('Invalid'));
    await assert.rejects(ds.list('no-kind'), reason('Invalid'));
    assert.throws(
      () => ds.watch('Pod', { resourceVersion: 'abc' }, { onEvent: () => {} }),
      reason('Invalid'),
    );
    assert.equal((await ds.list('Pod')).resourceVersion, '1');
    assert.deepEqual(readdirSync(join(dir, 'objects', 'Pod', 'default')), ['a.json']);
  });

  it('list filters by kind and namespace, sorted, with the version to watch from', async () => {
    const ds = await openStore();
    await ds.create(pod('b', 'ns1'));
    await ds.create(pod('a', 'ns2'));
    await ds.create(pod('a', 'ns1'));
    await ds.create(pool('p', '10.0.0.0/8'));
    const all = await ds.list('Pod');
    assert.deepEqual(
      all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ['ns1/a', 'ns1/b', 'ns2/a'],
    );
    assert.equal(all.resourceVersion, '4');
    const ns1 = await ds.list('Pod', { namespace: 'ns1' });
    assert.deepEqual(
      ns1.items.map((o) => o.metadata.name),
      ['a', 'b'],
    );
    assert.deepEqual((await ds.list('NetworkPolicy')).items, []);
  });

  it('returned objects are copies: mutating them does not change the store', async () => {
    const ds = await openStore();
    const a = await ds.create(pod('a', 'default', { n: 1 }));
    (a.spec as { n: number }).n = 99;
    const got = await ds.get<Resource<{ n: number }>>('Pod', 'a', 'default');
    assert.equal(got?.spec?.n, 1);
    got!.spec!.n = 42;
    assert.equal((await ds.list<Resource<{ n: number }>>('Pod')).items[0]?.spec?.n, 1);
  });

  it('state survives reopening, and object files hold exactly the stored objects', async () => {
    const dir = dirs.make();
    const ds = await FileDatastore.open(dir);
    const a = await ds.create(pod('a'));
    const p = await ds.create(pool('p', '10.1.0.0/16'));
    await ds.create(pod('gone'));
    await ds.delete('Pod', 'gone', 'default');
    await ds.close();
    const again = await openStore(dir);
    assert.deepEqual((await again.list('Pod')).items, [a]);
    assert.deepEqual(await again.get('IPPool', 'p'), p);
    assert.equal((await again.list('Pod')).resourceVersion, '4');
    assert.deepEqual(
      JSON.parse(readFileSync(join(dir, 'objects', 'IPPool', '_cluster', 'p.json'), 'utf8')),
      p,
    );
    assert.equal(existsSync(join(dir, 'objects', 'Pod', 'default', 'gone.json')), false);
  });

  it('two stores on one directory in one process see each other and exclude each other', async () => {
    const dir = dirs.make();
    const s1 = await openStore(dir);
    const s2 = await openStore(dir);
    const a = await s1.create(pod('a', 'default', { n: 0 }));
    assert.deepEqual(await s2.get('Pod', 'a', 'default'), a);
    const [r1, r2] = await Promise.allSettled([
      s1.update({ ...a, spec: { n: 1 } }),
      s2.update({ ...a, spec: { n: 2 } }),
    ]);
    assert.equal([r1, r2].filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal([r1, r2].filter((r) => r.status === 'rejected' && isConflict(r.reason)).length, 1);
  });

  it('operations after close fail with Unavailable', async () => {
    const ds = await FileDatastore.open(dirs.make());
    await ds.close();
    await assert.rejects(ds.get('Pod', 'a'), reason('Unavailable'));
    await assert.rejects(ds.create(pod('a')), reason('Unavailable'));
  });
});

describe('FileDatastore: validate hook', () => {
  const dirs = new TempDirs();
  afterEach(() => dirs.removeAll());

  it('stores the defaulted copy the hook returns, on create and update', async () => {
    const ds = await FileDatastore.open(dirs.make(), {
      validate: (o) => ({ ...o, spec: { blockSize: 26, ...(o.spec as object) } }),
    });
    try {
      const p = await ds.create(pool('p', '10.0.0.0/16'));
      assert.deepEqual(p.spec, { blockSize: 26, cidr: '10.0.0.0/16' });
      const u = await ds.update({ ...p, spec: { cidr: '10.0.0.0/16', blockSize: 28 } });
      assert.deepEqual(u.spec, { blockSize: 28, cidr: '10.0.0.0/16' });
    } finally {
      await ds.close();
    }
  });

  it('a rejection is an Invalid error carrying the cause, and leaves nothing written', async () => {
    const dir = dirs.make();
    const hookError = new TypeError('spec.cidr: not a CIDR');
    const ds = await FileDatastore.open(dir, {
      validate: (o) => {
        if ((o.spec as { cidr?: string }).cidr === 'bad') throw hookError;
        return o;
      },
    });
    const events: string[] = [];
    const w = ds.watch('IPPool', {}, { onEvent: (e) => events.push(e.type) });
    try {
      const journalBefore = readFileSync(join(dir, 'journal'), 'utf8');
      await assert.rejects(ds.create(pool('p', 'bad')), (e) => {
        assert.ok(e instanceof DatastoreError && e.reason === 'Invalid');
        assert.equal(e.cause, hookError);
        assert.match(e.message, /not a CIDR/);
        return true;
      });
      const good = await ds.create(pool('q', '10.0.0.0/8'));
      const afterCreate = readFileSync(join(dir, 'journal'), 'utf8');
      await assert.rejects(ds.update({ ...good, spec: { cidr: 'bad' } }), reason('Invalid'));
      assert.equal(readFileSync(join(dir, 'journal'), 'utf8'), afterCreate);
      assert.equal(afterCreate.startsWith(journalBefore), true);
      assert.equal(existsSync(join(dir, 'objects', 'IPPool', '_cluster', 'p.json')), false);
      assert.deepEqual(await ds.get('IPPool', 'q'), good);
      assert.equal((await ds.list('IPPool')).resourceVersion, '1');
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(events, ['ADDED']);
    } finally {
      w.stop();
      await ds.close();
    }
  });

  it('a hook may not change the identity of the object', async () => {
    const ds = await FileDatastore.open(dirs.make(), {
      validate: (o) => ({ ...o, metadata: { ...o.metadata, name: 'renamed' } }),
    });
    try {
      await assert.rejects(ds.create(pool('p', '10.0.0.0/8')), reason('Invalid'));
      assert.deepEqual((await ds.list('IPPool')).items, []);
    } finally {
      await ds.close();
    }
  });
});
