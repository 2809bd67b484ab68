// Faults between the Kubernetes datastore and its API server. The server is a STAND-IN
// (test/k8s-apiserver/server.ts), not kube-apiserver, which cannot be installed here; it
// speaks the same list/watch/410 protocol and lets the test drop connections, go away and
// come back, forget history (410) and hold objects no valid client would write.
import assert from 'node:assert/strict';
import { Informer } from '../../src/datastore/kubernetes/index.js';
import type { Resource, WatchEvent, WatchHandle } from '../../src/datastore/types.js';
import { ValidationError } from '../../src/resources/index.js';
import { recordingLogger } from '../util/logger.js';
import { pod, pool, until } from './helpers.js';
import { StandInFixture } from './kubernetes-helpers.js';

type Counted = Resource<{ n: number }>;

const byName = (objs: readonly Resource[]) =>
  Object.fromEntries(
    objs.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );

describe('KubernetesDatastore faults (API server stand-in)', function () {
  this.timeout(30_000);
  const fx = new StandInFixture();
  const informers: Informer<Resource>[] = [];
  const handles: WatchHandle[] = [];
  afterEach(async () => {
    for (const i of informers.splice(0)) i.stop();
    for (const h of handles.splice(0)) h.stop();
    await fx.closeAll();
  });

  const startInformer = (ds: ReturnType<StandInFixture['store']>, events: WatchEvent[] = []) => {
    const inf = new Informer<Resource>(
      ds,
      { kind: 'Pod', backoff: { initialMs: 20, maxMs: 200 } },
      {
        onEvent: (e) => events.push(e),
      },
    );
    informers.push(inf);
    inf.start();
    return inf;
  };

  it('a dropped watch resumes from its last version: no re-list, nothing missed or repeated', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    const events: WatchEvent[] = [];
    const inf = startInformer(ds, events);
    await inf.synced;
    await until(() => server.openWatches === 1, 'watch open');
    await ds.create(pod('a'));
    await until(() => events.length === 1, 'first event');
    server.dropWatches();
    await ds.create(pod('b'));
    await ds.create(pod('c'));
    await until(() => events.length === 3, 'events after the drop');
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`),
      ['ADDED a@1', 'ADDED b@2', 'ADDED c@3'],
    );
    assert.equal(inf.relists, 1);
    assert.ok(server.counts.watch >= 2, 'reconnected');
  });

  it('410 on the watch makes the informer re-list, turning the difference into events', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    const a = await ds.create(pod('a', 'default', { n: 0 }));
    await ds.create(pod('b'));
    const events: WatchEvent[] = [];
    const inf = startInformer(ds, events);
    await inf.synced;
    await until(() => server.openWatches === 1, 'watch open');
    // Another apiserver replica takes writes while ours is away; then history is compacted.
    await server.goAway();
    server.inject({ ...a, metadata: { ...a.metadata }, spec: { n: 1 } });
    server.remove('v1', 'Pod', 'b', 'default');
    server.inject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c', namespace: 'default' }, spec: {} });
    server.compact();
    await server.comeBack();
    await until(
      () => inf.relists === 2 && inf.list().length === 2 && inf.get('c', 'default') !== undefined,
      're-list',
    );
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED a', 'ADDED b', 'MODIFIED a', 'ADDED c', 'DELETED b'],
    );
    assert.deepEqual(byName(inf.list()), byName((await ds.list('Pod')).items));
  });

  it('a forced 410 Expired on reconnect is recovered by a re-list', async () => {
    const server = await fx.server();
    const ds = fx.store(server);
    const inf = startInformer(ds);
    await inf.synced;
    await until(() => server.openWatches === 1, 'watch open');
    server.forceExpiredOnNextWatch();
    server.dropWatches();
    await until(() => inf.relists === 2 && server.openWatches === 1, 're-list and watch again');
    await ds.create(pod('after'));
    await until(() => inf.get('after', 'default') !== undefined, 'event after recovery');
  });

  it('writers and an API server that goes away and returns three times: the informer ends equal to the store', async () => {
    const server = await fx.server({ historyLimit: 50 });
    const ds = fx.store(server);
    const events: WatchEvent[] = [];
    const inf = startInformer(ds, events);
    await inf.synced;
    const writer = fx.store(server, { requestTimeoutMs: 2_000 });
    let stop = false;
    let writes = 0;
    const work = (async () => {
      for (let i = 0; !stop; i++) {
        const name = `p${i % 20}`;
        try {
          const cur = await writer.get<Counted>('Pod', name, 'default');
          if (cur === undefined) await writer.create(pod(name, 'default', { n: 0 }));
          else if (i % 7 === 0)
            await writer.delete('Pod', name, 'default', { resourceVersion: cur.metadata.resourceVersion });
          else await writer.update({ ...cur, spec: { n: (cur.spec?.n ?? 0) + 1 } });
          writes++;
        } catch {
          // Unavailable while the server is away; the write is simply not done.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    })();
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 150));
      await server.goAway();
      // In the second outage another replica takes a write and the history is compacted past
      // it: the informer cannot resume and must re-list.
      if (round === 1) {
        server.inject({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'during-outage', namespace: 'default' },
          spec: { n: 0 },
        });
        server.compact();
      }
      await new Promise((r) => setTimeout(r, 100));
      await server.comeBack();
    }
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await work;
    const final = (await ds.list('Pod')).items;
    await until(
      () => JSON.stringify(byName(inf.list())) === JSON.stringify(byName(final)),
      'informer caught up',
      10_000,
    );
    assert.ok(writes > 50, `writes done: ${writes}`);
    assert.ok(inf.relists >= 2, `re-listed after the compacted outage (${inf.relists} lists)`);
    // Per object, versions only ever go up in the event stream (DELETED from a re-list repeats the last one).
    const last = new Map<string, number>();
    for (const e of events) {
      const rv = Number(e.object.metadata.resourceVersion);
      const prev = last.get(e.object.metadata.name) ?? 0;
      assert.ok(
        rv > prev || (e.type === 'DELETED' && rv === prev),
        `${e.type} ${e.object.metadata.name}@${rv} after @${prev}`,
      );
      last.set(e.object.metadata.name, rv);
    }
  });

  it('an invalid object in storage is logged with the field named and skipped by list and watch', async () => {
    const server = await fx.server();
    const lines: Record<string, unknown>[] = [];
    const ds = fx.store(server, { logger: recordingLogger(lines) });
    await ds.create(pool('good', '10.0.0.0/16'));
    const seen: string[] = [];
    handles.push(
      ds.watch('IPPool', { resourceVersion: '1' }, { onEvent: (e) => seen.push(e.object.metadata.name) }),
    );
    server.inject({
      apiVersion: 'trellis.network/v1',
      kind: 'IPPool',
      metadata: { name: 'bad' },
      spec: { cidr: '10.0.0.300/16' },
    });
    await ds.create(pool('later', '10.1.0.0/16'));
    await until(() => seen.length === 1, 'watch event after the bad one');
    assert.deepEqual(seen, ['later']);
    assert.deepEqual(
      (await ds.list('IPPool')).items.map((o) => o.metadata.name),
      ['good', 'later'],
    );
    await assert.rejects(
      ds.get('IPPool', 'bad'),
      (e) => e instanceof ValidationError && /spec\.cidr/.test(e.message),
    );
    const skipped = lines.filter((l) => l['name'] === 'bad');
    assert.deepEqual(
      skipped.map((l) => l['where']),
      ['watch ADDED', 'list'],
    );
    for (const l of skipped) {
      assert.equal(l['level'], 50);
      assert.ok(
        (l['issues'] as { path: string }[]).some((i) => i.path === 'spec.cidr'),
        JSON.stringify(l),
      );
    }
  });
});
