// The pure parts of the Kubernetes datastore (error mapping, paths, node hints, re-list diff,
// backoff, kubeconfig loading) and the wire shapes of the API server STAND-IN
// (test/k8s-apiserver; not kube-apiserver, which cannot be installed here), checked against
// what the Kubernetes API documents.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  apiError,
  backoffDelay,
  loadKubeConfig,
  nodeHints,
  parseStatus,
  reasonFor,
  relistEvents,
  restPath,
  transportError,
} from '../../src/datastore/kubernetes/index.js';
import { DatastoreError, type Resource } from '../../src/datastore/types.js';
import { allKinds } from '../../src/resources/index.js';
import { parseRoute } from '../k8s-apiserver/routes.js';
import { StandInFixture } from './kubernetes-helpers.js';

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);

describe('kubernetes datastore: error mapping', () => {
  it('maps HTTP codes and Status reasons to the contract reasons', () => {
    const cases: [number, string | undefined, string][] = [
      [404, 'NotFound', 'NotFound'],
      [409, 'AlreadyExists', 'AlreadyExists'],
      [409, 'Conflict', 'Conflict'],
      [409, undefined, 'Conflict'],
      [410, 'Expired', 'Gone'],
      [410, 'Gone', 'Gone'],
      [422, 'Invalid', 'Invalid'],
      [400, 'BadRequest', 'Invalid'],
      [401, 'Unauthorized', 'Unavailable'],
      [403, 'Forbidden', 'Unavailable'],
      [429, 'TooManyRequests', 'Unavailable'],
      [500, 'InternalError', 'Unavailable'],
      [503, 'ServiceUnavailable', 'Unavailable'],
    ];
    for (const [code, reason, want] of cases) {
      assert.equal(reasonFor(code, reason === undefined ? {} : { reason }), want, `${code} ${reason}`);
    }
  });

  it('apiError keeps the server message and names the request', () => {
    const body = JSON.stringify({
      kind: 'Status',
      code: 409,
      reason: 'Conflict',
      message: 'the object has been modified',
    });
    const err = apiError(409, body, 'update IPPool "p"');
    assert.ok(err instanceof DatastoreError && err.reason === 'Conflict');
    assert.equal(err.message, 'update IPPool "p": the object has been modified');
    assert.equal(apiError(502, 'not json <html>', 'get x').message, 'get x: not json <html>');
  });

  it('parseStatus never throws, whatever the body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue()), (body) => {
        const s = parseStatus(body);
        assert.equal(typeof s, 'object');
      }),
    );
  });

  it('transport failures are Unavailable with the errno code; datastore errors pass through', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const err = transportError(refused, 'list pods');
    assert.equal(err.reason, 'Unavailable');
    assert.match(err.message, /^list pods: API server unreachable \(ECONNREFUSED\)/);
    assert.equal(err.cause, refused);
    const invalid = new DatastoreError('Invalid', 'x');
    assert.equal(transportError(invalid, 'y'), invalid);
  });
});

describe('kubernetes datastore: REST paths', () => {
  it('known paths for each group and scope', () => {
    const info = (kind: string) => allKinds.find((k) => k.kind === kind)!;
    assert.equal(restPath(info('Pod'), 'default', 'web'), '/api/v1/namespaces/default/pods/web');
    assert.equal(restPath(info('Pod')), '/api/v1/pods');
    assert.equal(restPath(info('Namespace'), undefined, 'kube-system'), '/api/v1/namespaces/kube-system');
    assert.equal(restPath(info('Node'), undefined, 'n1'), '/api/v1/nodes/n1');
    assert.equal(
      restPath(info('NetworkPolicy'), 'ns1', 'deny'),
      '/apis/networking.k8s.io/v1/namespaces/ns1/networkpolicies/deny',
    );
    assert.equal(
      restPath(info('IPAMBlock'), undefined, '10-0-0-0-26'),
      '/apis/trellis.network/v1/ipamblocks/10-0-0-0-26',
    );
  });

  it('the stand-in routes every path the client builds back to the same kind, namespace and name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...allKinds),
        label,
        fc.option(label, { nil: undefined }),
        (info, ns, name) => {
          const namespace = info.namespaced ? ns : undefined;
          const route = parseRoute(restPath(info, namespace, name), allKinds);
          assert.ok(route !== undefined);
          assert.equal(route.info, info);
          assert.equal(route.namespace, namespace);
          assert.equal(route.name, name);
        },
      ),
    );
  });
});

describe('kubernetes datastore: nodeHints', () => {
  const node = (status: unknown, spec: unknown = {}): Resource => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    spec,
    status,
  });

  it('prefers InternalIP per family, canonicalises, and reads podCIDRs', () => {
    const hints = nodeHints(
      node(
        {
          addresses: [
            { type: 'Hostname', address: 'n1' },
            { type: 'ExternalIP', address: '203.0.113.5' },
            { type: 'InternalIP', address: '10.0.0.5' },
            { type: 'InternalIP', address: '10.0.0.6' },
            { type: 'InternalIP', address: 'fd00:0::5' },
          ],
        },
        { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
      ),
    );
    assert.deepEqual(hints, {
      addresses: { ipv4: '10.0.0.5', ipv6: 'fd00::5' },
      podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
    });
  });

  it('falls back to ExternalIP and the single podCIDR; skips malformed entries', () => {
    assert.deepEqual(
      nodeHints(
        node(
          {
            addresses: [
              { type: 'ExternalIP', address: '198.51.100.1' },
              { type: 'InternalIP', address: 'bogus' },
            ],
          },
          { podCIDR: '10.1.0.0/24' },
        ),
      ),
      { addresses: { ipv4: '198.51.100.1' }, podCIDRs: ['10.1.0.0/24'] },
    );
    assert.deepEqual(nodeHints(node(undefined, { podCIDRs: ['nope', 42] })), { addresses: {}, podCIDRs: [] });
  });
});

describe('kubernetes datastore: re-list difference', () => {
  const obj = (name: string, rv: number): Resource => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', resourceVersion: String(rv) },
  });
  const state = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 1, max: 4 }));

  it('applying the events to the cache yields exactly the listed state, touching only what changed', () => {
    fc.assert(
      fc.property(state, state, (before, after) => {
        const cached = new Map(Object.entries(before).map(([n, rv]) => [`default/${n}`, obj(n, rv)]));
        const listed = Object.entries(after).map(([n, rv]) => obj(n, rv));
        const events = relistEvents(cached, listed);
        const result = new Map(cached);
        for (const e of events) {
          const key = `default/${e.object.metadata.name}`;
          if (e.type === 'DELETED') result.delete(key);
          else result.set(key, e.object);
        }
        assert.deepEqual(result, new Map(listed.map((o) => [`default/${o.metadata.name}`, o])));
        const unchanged = Object.keys(after).filter((n) => before[n] === after[n]);
        assert.ok(events.every((e) => !unchanged.includes(e.object.metadata.name)));
      }),
    );
  });
});

describe('kubernetes datastore: backoff and kubeconfig', () => {
  it('backoff delays stay within [cap/2, cap] with cap doubling up to the maximum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, r) => {
          const policy = { initialMs: 100, maxMs: 10_000, random: () => r };
          const cap = Math.min(10_000, 100 * 2 ** (attempt - 1));
          const d = backoffDelay(policy, attempt);
          assert.ok(d >= cap / 2 && d <= cap, `${d} for attempt ${attempt}`);
        },
      ),
    );
  });

  it('loads a server URL, a kubeconfig file, and refuses a kubeconfig without a current cluster', () => {
    const kc = loadKubeConfig({ server: 'https://10.96.0.1:443', token: 't' });
    assert.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
    assert.equal(kc.getCurrentUser()?.token, 't');
    const dir = mkdtempSync(join(tmpdir(), 'trellis-kubeconfig-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
          'users: [{name: u, user: {token: abc}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      assert.equal(
        loadKubeConfig({ kubeconfig: file }).getCurrentCluster()?.server,
        'https://127.0.0.1:6443',
      );
      writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
      assert.throws(
        () => loadKubeConfig({ kubeconfig: file }),
        (e) => e instanceof DatastoreError && e.reason === 'Invalid',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('API server stand-in: wire shapes', () => {
  const fx = new StandInFixture();
  afterEach(() => fx.closeAll());

  it('failures are meta/v1 Status objects shaped like the apiserver sends them', async () => {
    const server = await fx.server();
    const res = await fetch(`${server.url}/api/v1/namespaces/default/pods/x`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "x" not found',
      reason: 'NotFound',
      details: { name: 'x', kind: 'pods' },
      code: 404,
    });
    const body = JSON.stringify({
      apiVersion: 'trellis.network/v1',
      kind: 'IPPool',
      metadata: { name: 'p' },
      spec: {},
    });
    const post = () =>
      fetch(`${server.url}/apis/trellis.network/v1/ippools`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await post()).status, 201);
    const dup = await post();
    assert.equal(dup.status, 409);
    assert.deepEqual(await dup.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'ippools.trellis.network "p" already exists',
      reason: 'AlreadyExists',
      details: { name: 'p', group: 'trellis.network', kind: 'ippools' },
      code: 409,
    });
  });

  it('a watch streams JSON lines: replay, BOOKMARK, and an ERROR 410 Expired for a compacted position', async () => {
    const server = await fx.server({ bookmarkMs: 20 });
    const ds = fx.store(server);
    await ds.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } });
    await ds.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } });
    const ac = new AbortController();
    const res = await fetch(
      `${server.url}/api/v1/namespaces?watch=1&resourceVersion=1&allowWatchBookmarks=true`,
      { signal: ac.signal },
    );
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('BOOKMARK')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: Resource });
    assert.equal(lines[0]!.type, 'ADDED');
    assert.equal(lines[0]!.object.metadata.name, 'b');
    assert.deepEqual(lines.at(-1), {
      type: 'BOOKMARK',
      object: { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: '2' } },
    });
    server.compact();
    const gone = await (await fetch(`${server.url}/api/v1/namespaces?watch=true&resourceVersion=1`)).text();
    assert.deepEqual(JSON.parse(gone), {
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'too old resource version: 1 (3)',
        reason: 'Expired',
        code: 410,
      },
    });
  });
});
