// The datastore contract on KubernetesDatastore, against an API server STAND-IN: a small
// node:http server speaking the Kubernetes REST protocol (test/k8s-apiserver/server.ts). It is
// not kube-apiserver (none can be installed here); what it does not model is listed in
// docs/kubernetes-datastore.md. The cases mirror file.test.ts/watch.test.ts where they apply.
import assert from 'node:assert/strict';
import {
  DatastoreError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type Resource,
  type WatchEvent,
  type WatchHandle,
} from '../../src/datastore/types.js';
import { ValidationError } from '../../src/resources/index.js';
import { sharedContractCases, watchSummary } from './contract.js';
import { pod, pool, until } from './helpers.js';
import { StandInFixture } from './kubernetes-helpers.js';

const reason = (r: string) => (e: unknown) => e instanceof DatastoreError && e.reason === r;

describe('KubernetesDatastore (API server stand-in): CRUD and typed errors', () => {
  const fx = new StandInFixture();
  afterEach(() => fx.closeAll());

  it('create returns the stored object with server fields; get reads it back', async () => {
    const ds = fx.store(await fx.server());
    const created = await ds.create(pod('web', 'default', { image: 'nginx' }));
    assert.equal(created.metadata.resourceVersion, '1');
    assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.kind, 'Pod');
    assert.deepEqual(await ds.get('Pod', 'web', 'default'), created);
    assert.equal(await ds.get('Pod', 'web', 'other'), undefined);
  });

  it('reads a Secret at /api/v1/namespaces/NS/secrets/NAME (BGPPeer passwords)', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bgp', namespace: 'trellis-system' },
    };
    await ds.create({ ...secret, data: { pw: 'czNjcmV0' } } as Resource);
    const got = await ds.get<Resource & { data?: Record<string, string> }>('Secret', 'bgp', 'trellis-system');
    assert.equal(got?.data?.pw, 'czNjcmV0');
    assert.equal(await ds.get('Secret', 'bgp', 'default'), undefined);
  });

  it('our kinds are validated and defaulted on write, like the embedded store with validateResource', async () => {
    const ds = fx.store(await fx.server());
    const p = await ds.create(pool('p', '10.0.0.0/16'));
    assert.equal((p.spec as { blockSize?: number }).blockSize, 26);
    await assert.rejects(
      ds.create(pool('q', '10.0.0.1/16')),
      (e) => e instanceof ValidationError && /spec\.cidr/.test(e.message),
    );
    assert.deepEqual(
      (await ds.list('IPPool')).items.map((o) => o.metadata.name),
      ['p'],
    );
  });

  it('AlreadyExists on a duplicate create, NotFound on update/delete of a missing object', async () => {
    const ds = fx.store(await fx.server());
    await ds.create(pod('a'));
    await assert.rejects(
      ds.create(pod('a')),
      (e) => isAlreadyExists(e) && /already exists/.test((e as Error).message),
    );
    await assert.rejects(
      ds.update({ ...pod('zz'), metadata: { name: 'zz', namespace: 'default', resourceVersion: '1' } }),
      isNotFound,
    );
    await assert.rejects(ds.delete('Pod', 'zz', 'default'), isNotFound);
    await ds.create(pod('a', 'kube-system'));
  });

  it('update is compare-and-swap on resourceVersion; a no-op update writes no version', async () => {
    const ds = fx.store(await fx.server());
    const v1 = await ds.create(pod('a', 'default', { n: 1 }));
    const v2 = await ds.update({ ...v1, spec: { n: 2 } });
    assert.equal(v2.metadata.resourceVersion, '2');
    assert.equal(v2.metadata.uid, v1.metadata.uid);
    assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
    await assert.rejects(
      ds.update({ ...v1, spec: { n: 3 } }),
      (e) => isConflict(e) && /has been modified/.test((e as Error).message),
    );
    assert.deepEqual((await ds.get('Pod', 'a', 'default'))?.spec, { n: 2 });
    assert.deepEqual(await ds.update(structuredClone(v2)), v2);
    assert.equal((await ds.list('Pod')).resourceVersion, '2');
  });

  it('delete with a resourceVersion is compare-and-swap (DeleteOptions preconditions)', async () => {
    const ds = fx.store(await fx.server());
    const v1 = await ds.create(pod('a'));
    await ds.update({ ...v1, spec: { n: 2 } });
    await assert.rejects(
      ds.delete('Pod', 'a', 'default', { resourceVersion: '1' }),
      (e) => isConflict(e) && /Precondition failed/.test((e as Error).message),
    );
    assert.notEqual(await ds.get('Pod', 'a', 'default'), undefined);
    await ds.delete('Pod', 'a', 'default', { resourceVersion: '2' });
    assert.equal(await ds.get('Pod', 'a', 'default'), undefined);
  });

  it('rejects bad input with Invalid before any request, and writes nothing', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    const bad: unknown[] = [
      pod('Upper'),
      pod('../escape'),
      { apiVersion: 'v1', kind: 'Pod/x', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'bad_ns' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } },
      { kind: 'Pod', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } },
      { ...pod('a'), metadata: { name: 'a', namespace: 'default', resourceVersion: '7' } },
    ];
    for (const b of bad) await assert.rejects(ds.create(b as Resource), reason('Invalid'), JSON.stringify(b));
    const a = await ds.create(pod('a'));
    await assert.rejects(
      ds.update({ ...a, metadata: { ...a.metadata, resourceVersion: undefined } }),
      reason('Invalid'),
    );
    await assert.rejects(ds.get('Pod', 'A'), reason('Invalid'));
    await assert.rejects(ds.list('no-kind'), reason('Invalid'));
    assert.throws(() => ds.watch('ConfigMap', {}, { onEvent: () => {} }), reason('Invalid'));
    assert.equal(server.resourceVersion, '1');
    assert.equal(server.counts.create, 1);
  });

  it("a malformed resourceVersion is the server's 400 BadRequest, surfaced as Invalid", async () => {
    const ds = fx.store(await fx.server());
    const a = await ds.create(pod('a'));
    await assert.rejects(
      ds.update({ ...a, metadata: { ...a.metadata, resourceVersion: 'x1' } }),
      reason('Invalid'),
    );
  });

  it('list filters by kind and namespace, sorted, with the version to watch from', async () => {
    const ds = fx.store(await fx.server());
    await ds.create(pod('b', 'ns1'));
    await ds.create(pod('a', 'ns2'));
    await ds.create(pod('a', 'ns1'));
    await ds.create(pool('p', '10.0.0.0/8'));
    const all = await ds.list('Pod');
    assert.deepEqual(
      all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ['ns1/a', 'ns1/b', 'ns2/a'],
    );
    assert.ok(
      all.items.every((o) => o.kind === 'Pod' && o.apiVersion === 'v1'),
      'typed list items get kind/apiVersion',
    );
    assert.equal(all.resourceVersion, '4');
    assert.deepEqual(
      (await ds.list('Pod', { namespace: 'ns1' })).items.map((o) => o.metadata.name),
      ['a', 'b'],
    );
    assert.deepEqual((await ds.list('NetworkPolicy')).items, []);
  });

  it('an API server that is not there is Unavailable; operations after close too', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    await server.goAway();
    await assert.rejects(
      ds.get('Pod', 'a', 'default'),
      (e) => reason('Unavailable')(e) && /unreachable/.test((e as Error).message),
    );
    await server.comeBack();
    assert.equal(await ds.get('Pod', 'a', 'default'), undefined);
    await ds.close();
    await assert.rejects(ds.get('Pod', 'a', 'default'), reason('Unavailable'));
  });

  it('a request slower than the timeout is Unavailable', async () => {
    const server = await fx.server();
    const ds = fx.store(server, { requestTimeoutMs: 50 });
    server.latencyMs = 300;
    await assert.rejects(ds.list('Pod'), reason('Unavailable'));
  });
});

describe('KubernetesDatastore (API server stand-in): watch', () => {
  const fx = new StandInFixture();
  const handles: WatchHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) h.stop();
    await fx.closeAll();
  });

  sharedContractCases(async () => fx.store(await fx.server()), handles);

  it('DELETED carries the last state with the deletion version', async () => {
    const ds = fx.store(await fx.server());
    const a = await ds.create(pod('a', 'default', { image: 'x' }));
    const events: WatchEvent[] = [];
    handles.push(
      ds.watch('Pod', { resourceVersion: a.metadata.resourceVersion }, { onEvent: (e) => events.push(e) }),
    );
    await ds.delete('Pod', 'a', 'default');
    await until(() => events.length === 1, 'delete event');
    assert.deepEqual(events[0], {
      type: 'DELETED',
      object: { ...a, metadata: { ...a.metadata, resourceVersion: '2' } },
    });
  });

  it('without a resourceVersion delivers only changes from now on; filters by namespace', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    await ds.create(pod('old'));
    const all: string[] = [];
    const ns1: string[] = [];
    handles.push(ds.watch('Pod', {}, { onEvent: (e) => all.push(watchSummary(e)) }));
    handles.push(ds.watch('Pod', { namespace: 'ns1' }, { onEvent: (e) => ns1.push(watchSummary(e)) }));
    await until(() => server.openWatches === 2, 'watches connected');
    await ds.create(pod('x', 'ns1'));
    await ds.create(pod('y', 'ns2'));
    await ds.create(pool('p', '10.0.0.0/8'));
    await until(() => all.length === 2 && ns1.length === 1, 'events');
    assert.deepEqual(all, ['ADDED ns1/x@2', 'ADDED ns2/y@3']);
    assert.deepEqual(ns1, ['ADDED ns1/x@2']);
  });

  it('a resourceVersion older than the server keeps fails with Gone via onError', async () => {
    const ds = fx.store(await fx.server({ historyLimit: 4 }));
    let cur = await ds.create(pod('a', 'default', { n: 0 }));
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
    assert.ok(reason('Gone')(errors[0]), String(errors[0]));
    assert.match(errors[0]!.message, /too old resource version/);
    assert.deepEqual(events, []);
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

  it('a handler that throws ends the watch and reports the error; stop() ends delivery', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    const boom = new Error('handler bug');
    const errors: Error[] = [];
    let calls = 0;
    const start = (await ds.list('Pod')).resourceVersion;
    handles.push(
      ds.watch(
        'Pod',
        { resourceVersion: start },
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
    ds.watch('Pod', { resourceVersion: start }, { onEvent: (e) => stopped.push(watchSummary(e)) }).stop();
    await ds.create(pod('a'));
    await ds.create(pod('b'));
    await until(() => errors.length === 1, 'handler error');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls, 1);
    assert.equal(errors[0], boom);
    assert.deepEqual(stopped, []);
    await until(() => server.openWatches === 0, 'connections closed');
  });
});
