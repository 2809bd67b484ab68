import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyObject, validateAll } from '../../src/cli/commands/apply.js';
import { parseManifest } from '../../src/cli/manifests.js';
import { FileDatastore } from '../../src/datastore/file.js';
import { type Datastore, isConflict, type Resource } from '../../src/datastore/types.js';
import { type IPPool, validateResource } from '../../src/resources/index.js';

const pool = (cidr: string, extra: Record<string, unknown> = {}): Resource =>
  validateResource({
    apiVersion: 'trellis.network/v1',
    kind: 'IPPool',
    metadata: { name: 'p1' },
    spec: { cidr, ...extra },
  });

describe('cli/apply (in process)', () => {
  let dir: string;
  let store: FileDatastore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-apply-test-'));
    store = await FileDatastore.open(dir, { validate: validateResource });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The store, except that another writer changes p1 just before each of our first `races` updates. */
  function racingStore(races: number): { store: Datastore; conflicts: () => number } {
    let conflicts = 0;
    const proxy = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'update') return Reflect.get(target, prop, receiver);
        return async (obj: Resource) => {
          if (races > 0) {
            races--;
            const current = (await target.get<IPPool>('IPPool', 'p1'))!;
            await target.update({
              ...current,
              metadata: { ...current.metadata, labels: { rival: String(races) } },
            });
          }
          try {
            return await target.update(obj);
          } catch (e) {
            if (isConflict(e)) conflicts++;
            throw e;
          }
        };
      },
    });
    return { store: proxy, conflicts: () => conflicts };
  }

  it('creates, leaves an equal object alone, and updates a changed one', async () => {
    assert.equal(await applyObject(store, pool('10.1.0.0/16')), 'created');
    assert.equal(await applyObject(store, pool('10.1.0.0/16')), 'unchanged');
    assert.equal(await applyObject(store, pool('10.1.0.0/16', { disabled: true })), 'configured');
    assert.equal((await store.get<IPPool>('IPPool', 'p1'))!.spec.disabled, true);
  });

  it('retries when it loses the compare-and-swap, and the declared state wins', async () => {
    await applyObject(store, pool('10.1.0.0/16'));
    const racing = racingStore(2);
    assert.equal(await applyObject(racing.store, pool('10.1.0.0/16', { natOutgoing: true })), 'configured');
    assert.equal(racing.conflicts(), 2);
    const stored = (await store.get<IPPool>('IPPool', 'p1'))!;
    assert.equal(stored.spec.natOutgoing, true);
    // apply replaces the declared state, so the rival's label is gone.
    assert.equal(stored.metadata.labels, undefined);
  });

  it('gives up after repeated conflicts with the datastore error', async () => {
    await applyObject(store, pool('10.1.0.0/16'));
    const racing = racingStore(100);
    await assert.rejects(
      applyObject(racing.store, pool('10.1.0.0/16', { natOutgoing: true })),
      (e: unknown) => isConflict(e),
    );
    assert.equal(racing.conflicts(), 5);
  });

  it('validates all documents and reports each invalid one with its source', () => {
    const docs = parseManifest(
      [
        'apiVersion: trellis.network/v1\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.1.0.0/16}',
        'apiVersion: trellis.network/v1\nkind: IPPool\nmetadata: {name: b}\nspec: {cidr: 10.1.0.0/40}',
        '',
        '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "N"}}]}',
      ].join('\n---\n'),
      'f.yaml',
    );
    assert.deepEqual(
      docs.map((d) => d.source),
      ['f.yaml#1', 'f.yaml#2', 'f.yaml#4 items[0]'],
    );
    const { valid, failures } = validateAll(docs);
    assert.deepEqual(
      valid.map((v) => v.metadata.name),
      ['a'],
    );
    assert.equal(failures.length, 2);
    assert.match(failures[0]!, /^f\.yaml#2: IPPool "b": spec\.cidr: /);
    assert.match(failures[1]!, /^f\.yaml#4 items\[0\]: Namespace "N": metadata\.name: must be a DNS label/);
  });
});
