// Each crash window, reproduced exactly by editing the directory the way a dead writer leaves it.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDatastore } from '../../src/datastore/file.js';
import { encodeRecord, type JournalRecord } from '../../src/datastore/journal-codec.js';
import { DatastoreError, type Resource } from '../../src/datastore/types.js';
import { pod, TempDirs, until } from './helpers.js';

const podFile = (dir: string, name: string) => join(dir, 'objects', 'Pod', 'default', `${name}.json`);
const readPod = (dir: string, name: string) =>
  JSON.parse(readFileSync(podFile(dir, name), 'utf8')) as Resource;

/** A record as a writer commits it, for appending by hand. */
function committed(type: JournalRecord['type'], obj: Resource, rv: number): JournalRecord {
  const object = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
  return { rv, type, kind: obj.kind, ns: obj.metadata.namespace!, name: obj.metadata.name, object };
}

describe('FileDatastore: recovery', () => {
  const dirs = new TempDirs();
  const stores: FileDatastore[] = [];
  const openStore = async (dir: string) => {
    const ds = await FileDatastore.open(dir);
    stores.push(ds);
    return ds;
  };
  /** A store with pods a (rv 1) and b (rv 2), closed again. */
  const seeded = async () => {
    const dir = dirs.make();
    const ds = await FileDatastore.open(dir);
    const a = await ds.create(pod('a', 'default', { n: 1 }));
    const b = await ds.create(pod('b', 'default', { n: 1 }));
    await ds.close();
    return { dir, a, b };
  };
  afterEach(async () => {
    for (const ds of stores.splice(0)) await ds.close();
    dirs.removeAll();
  });

  it('a torn journal line (writer died inside write) is ignored by readers and truncated by the next lock holder', async () => {
    const { dir, a } = await seeded();
    const reader = await openStore(dir);
    const good = readFileSync(join(dir, 'journal'), 'utf8');
    const torn = encodeRecord(committed('MODIFIED', { ...a, spec: { n: 2 } }, 3)).slice(0, 40);
    appendFileSync(join(dir, 'journal'), torn);
    assert.equal((await reader.list('Pod')).resourceVersion, '2');
    const writer = await openStore(dir);
    assert.equal(readFileSync(join(dir, 'journal'), 'utf8'), good);
    const c = await writer.create(pod('c'));
    assert.equal(c.metadata.resourceVersion, '3');
    assert.deepEqual(await reader.get('Pod', 'c', 'default'), c);
    assert.deepEqual(readPod(dir, 'a'), a);
  });

  it('a live process repairs a torn tail under the lock before its own write', async () => {
    const { dir } = await seeded();
    const ds = await openStore(dir);
    appendFileSync(join(dir, 'journal'), '{"rv":3,"type":"ADD');
    const c = await ds.create(pod('c'));
    assert.equal(c.metadata.resourceVersion, '3');
    const lines = readFileSync(join(dir, 'journal'), 'utf8').split('\n');
    assert.equal(lines.length, 5); // header, 3 records, '' after the final newline
    assert.equal(JSON.parse(lines[3]!).name, 'c');
  });

  it('a committed record whose object file was never written is rolled forward on open', async () => {
    const { dir, a } = await seeded();
    appendFileSync(
      join(dir, 'journal'),
      encodeRecord(committed('MODIFIED', { ...a, spec: { n: 2 } }, 3)) + '\n',
    );
    assert.equal(readPod(dir, 'a').metadata.resourceVersion, '1');
    const ds = await openStore(dir);
    assert.deepEqual(readPod(dir, 'a').spec, { n: 2 });
    assert.equal(readPod(dir, 'a').metadata.resourceVersion, '3');
    assert.deepEqual((await ds.get('Pod', 'a', 'default'))?.spec, { n: 2 });
  });

  it('a committed delete whose file was never removed is rolled forward by a live writer', async () => {
    const { dir, b } = await seeded();
    const ds = await openStore(dir);
    appendFileSync(join(dir, 'journal'), encodeRecord(committed('DELETED', b, 3)) + '\n');
    assert.equal(await ds.get('Pod', 'b', 'default'), undefined, 'readers follow the journal');
    assert.ok(existsSync(podFile(dir, 'b')));
    await ds.create(pod('c'));
    assert.equal(existsSync(podFile(dir, 'b')), false);
  });

  it('temp files of interrupted object and journal writes are swept on open', async () => {
    const { dir, a } = await seeded();
    writeFileSync(join(dir, 'objects', 'Pod', 'default', '.a.json.999.tmp'), '{"half":');
    writeFileSync(join(dir, '.journal.999.tmp'), '{"trellisJournal":1');
    const ds = await openStore(dir);
    assert.deepEqual(readdirSync(join(dir, 'objects', 'Pod', 'default')).sort(), ['a.json', 'b.json']);
    assert.deepEqual(readdirSync(dir).sort(), ['journal', 'lock', 'objects']);
    assert.deepEqual(await ds.get('Pod', 'a', 'default'), a);
  });

  it('a lost journal restarts after the newest object, so versions stay monotonic and old positions are Gone', async () => {
    const { dir } = await seeded();
    rmSync(join(dir, 'journal'));
    const ds = await openStore(dir);
    assert.equal((await ds.list('Pod')).items.length, 2);
    const c = await ds.create(pod('c'));
    assert.equal(c.metadata.resourceVersion, '3');
    const errors: Error[] = [];
    ds.watch('Pod', { resourceVersion: '1' }, { onEvent: () => {}, onError: (e) => errors.push(e) });
    await until(() => errors.length === 1, 'Gone');
    assert.ok(errors[0] instanceof DatastoreError && errors[0].reason === 'Gone');
  });

  it('a corrupt object file that the journal cannot repair fails open loudly with Unavailable', async () => {
    const { dir } = await seeded();
    writeFileSync(podFile(dir, 'a'), '{"apiVersion":');
    await assert.rejects(
      FileDatastore.open(dir),
      (e) => e instanceof DatastoreError && e.reason === 'Unavailable',
    );
    // ...but the same damage to the last journal record's object is repaired from the journal.
    const { dir: dir2, b } = await seeded();
    writeFileSync(podFile(dir2, 'b'), '{"apiVersion":');
    await openStore(dir2);
    assert.deepEqual(readPod(dir2, 'b'), b);
  });

  it('a corrupt line inside the journal: readers stop there; open truncates it and restarts after the newest object', async () => {
    const { dir } = await seeded();
    const ds = await FileDatastore.open(dir);
    const c = await ds.create(pod('c'));
    await ds.close();
    const lines = readFileSync(join(dir, 'journal'), 'utf8').split('\n');
    lines[2] = '{"rv":2,"scribbled":true}';
    writeFileSync(join(dir, 'journal'), lines.join('\n'));
    const again = await openStore(dir);
    assert.deepEqual(
      (await again.list('Pod')).items.map((o) => o.metadata.name),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(await again.get('Pod', 'c', 'default'), c);
    assert.equal((await again.create(pod('d'))).metadata.resourceVersion, '4');
    assert.equal(JSON.parse(readFileSync(join(dir, 'journal'), 'utf8').split('\n')[0]!).baseRv, 3);
  });

  it('a process idle through compactions reloads from the object files on its next read or write', async () => {
    const dir = dirs.make();
    const busy = await FileDatastore.open(dir, { retainRecords: 2 });
    stores.push(busy);
    const idleReader = await openStore(dir);
    const idleWriter = await openStore(dir);
    let a = await busy.create(pod('a', 'default', { n: 0 }));
    for (let n = 1; n <= 10; n++) a = await busy.update({ ...a, spec: { n } });
    assert.deepEqual(await idleReader.get('Pod', 'a', 'default'), a);
    const b = await idleWriter.create(pod('b'));
    assert.equal(b.metadata.resourceVersion, '12');
    assert.deepEqual((await idleReader.list('Pod')).items, [a, b]);
  });

  it('a watch whose journal disappears ends with Unavailable', async () => {
    const { dir } = await seeded();
    const ds = await FileDatastore.open(dir, { watchPollMs: 10 });
    stores.push(ds);
    const errors: Error[] = [];
    ds.watch('Pod', {}, { onEvent: () => {}, onError: (e) => errors.push(e) });
    rmSync(join(dir, 'journal'));
    await until(() => errors.length === 1, 'watch error');
    assert.ok(errors[0] instanceof DatastoreError && errors[0].reason === 'Unavailable');
  });
});
