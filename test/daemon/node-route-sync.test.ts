// host-gw route sync on the real kernel: routes follow the datastore as blocks are claimed and
// released and nodes come and go, a route someone deletes comes back on the next sync, and
// routes of other protocols are never touched.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeRouteSync } from '../../agent/daemon/node-route-sync.js';
import { FileDatastore } from '../../src/datastore/file.js';
import { Lab, requireRoot } from '../../src/lab/index.js';
import { silentLogger } from '../../src/log.js';
import { RouteNetlink } from '../../src/netlink/index.js';
import { validateResource } from '../../src/resources/index.js';

const block = (cidr: string, affinity: string | null, allocations: unknown[] = []) => ({
  apiVersion: 'trellis.network/v1',
  kind: 'IPAMBlock',
  metadata: { name: cidr.replace(/[./:]/g, '-') },
  spec: { cidr, pool: 'p', affinity, allocations, unallocated: [], nextSeq: 10 },
});

const node = (name: string, ipv4: string) => ({
  apiVersion: 'trellis.network/v1',
  kind: 'TrellisNode',
  metadata: { name },
  spec: { addresses: { ipv4 } },
});

describe('host-gw node route sync (root, real kernel)', () => {
  let lab: Lab;
  let dir: string;
  let store: FileDatastore;
  let netlink: RouteNetlink;
  let sync: NodeRouteSync;

  const routes = async (): Promise<string[]> =>
    (await lab.exec('n1', 'ip', ['-4', 'route', 'show'])).stdout
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => !l.includes('proto kernel'))
      .sort();

  before(async function () {
    requireRoot(this);
    lab = await Lab.create();
    const [ns] = await lab.addNamespaces(['n1', 'n2']);
    await lab.connect({
      a: { ns: 'n1', ifname: 'eth0', address: '10.252.0.11/24' },
      b: { ns: 'n2', ifname: 'eth0', address: '10.252.0.12/24' },
    });
    await lab.ip('n1', ['route add 192.0.2.0/24 via 10.252.0.12 proto static']);
    dir = mkdtempSync(join(tmpdir(), 'trl-routesync-'));
    store = await FileDatastore.open(dir, { validate: validateResource });
    await store.create(node('n1', '10.252.0.11/24'));
    await store.create(node('n2', '10.252.0.12/24'));
    await store.create(block('10.248.0.0/26', 'n1'));
    await store.create(block('10.248.0.64/26', 'n2'));
    netlink = RouteNetlink.open({ netnsPath: `/run/netns/${ns}` });
    sync = new NodeRouteSync({ node: 'n1', datastore: store, netlink, log: silentLogger });
  });

  after(async () => {
    netlink?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await lab?.teardown();
  });

  it('programs a blackhole for its own block and a route via the owner for the others', async () => {
    await sync.syncOnce();
    assert.deepEqual(await routes(), [
      '10.248.0.64/26 via 10.252.0.12 dev eth0 proto 45',
      '192.0.2.0/24 via 10.252.0.12 dev eth0 proto static',
      'blackhole 10.248.0.0/26 proto 45',
    ]);
    assert.deepEqual(await sync.syncOnce(), { replaced: 0, deleted: 0, failed: 0 });
  });

  it('follows claims, borrowed addresses and releases, and repairs a deleted route', async () => {
    await store.create(
      block('10.248.0.128/26', 'n2', [{ ordinal: 3, handle: 'h', seq: 1, attributes: { node: 'n1' } }]),
    );
    await store.create(
      block('10.248.1.0/26', 'n1', [{ ordinal: 9, handle: 'b', seq: 2, attributes: { node: 'n2' } }]),
    );
    await store.delete('IPAMBlock', '10-248-0-64-26');
    await lab.ip('n1', ['route del blackhole 10.248.0.0/26']);
    assert.deepEqual(await sync.syncOnce(), { replaced: 4, deleted: 1, failed: 0 });
    assert.deepEqual(await routes(), [
      '10.248.0.128/26 via 10.252.0.12 dev eth0 proto 45',
      '10.248.1.9 via 10.252.0.12 dev eth0 proto 45',
      '192.0.2.0/24 via 10.252.0.12 dev eth0 proto static',
      'blackhole 10.248.0.0/26 proto 45',
      'blackhole 10.248.1.0/26 proto 45',
    ]);
  });

  it('converges by itself from datastore watches', async () => {
    sync.start();
    try {
      await store.delete('IPAMBlock', '10-248-0-128-26');
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (await routes()).some((r) => r.startsWith('10.248.0.128/26'))) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(
        !(await routes()).some((r) => r.startsWith('10.248.0.128/26')),
        'route removed after the block was',
      );
    } finally {
      sync.stop();
    }
  });

  it('local-only (BGP mode): keeps its own blackholes, removes every route toward other nodes', async () => {
    const local = new NodeRouteSync({
      node: 'n1',
      datastore: store,
      netlink,
      log: silentLogger,
      localOnly: true,
    });
    assert.deepEqual(await local.syncOnce(), { replaced: 0, deleted: 1, failed: 0 });
    assert.deepEqual(await routes(), [
      '192.0.2.0/24 via 10.252.0.12 dev eth0 proto static',
      'blackhole 10.248.0.0/26 proto 45',
      'blackhole 10.248.1.0/26 proto 45',
    ]);
    await store.create(
      block('10.248.2.0/26', 'n2', [{ ordinal: 1, handle: 'c', seq: 3, attributes: { node: 'n1' } }]),
    );
    await store.create(block('10.248.3.0/26', 'n1'));
    assert.deepEqual(await local.syncOnce(), { replaced: 1, deleted: 0, failed: 0 });
    assert.ok((await routes()).includes('blackhole 10.248.3.0/26 proto 45'));
  });
});
