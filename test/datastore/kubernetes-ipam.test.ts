// IPAM on the Kubernetes datastore under a conflict storm: five agents (five IpamAllocators,
// each with its own client, different node names) allocate 500 addresses at once from one
// pool through an API server STAND-IN (test/k8s-apiserver/server.ts; not kube-apiserver,
// which cannot be installed here). Only the server's resourceVersion compare-and-swap keeps
// them apart. Throughput is printed for the record, never asserted.
import assert from 'node:assert/strict';
import { type AssignedAddress, IpamAllocator } from '../../agent/ipam/allocator.js';
import { checkBlock } from '../../agent/ipam/block.js';
import { Prefix } from '../../src/net/index.js';
import type { BlockAffinity, IPAMBlock } from '../../src/resources/index.js';
import { pool } from './helpers.js';
import { StandInFixture } from './kubernetes-helpers.js';

describe('KubernetesDatastore: IPAM conflict storm (API server stand-in)', function () {
  this.timeout(120_000);
  const fx = new StandInFixture();
  afterEach(() => fx.closeAll());

  it('5 agents, 500 concurrent allocations, 100 injected 409s: no duplicate, each allocation stored once', async () => {
    const server = await fx.server();
    const admin = fx.store(server);
    // 8 blocks of 64 for 500 addresses: agents claim, fill and then borrow from each other.
    await admin.create({ ...pool('storm', '10.0.0.0/23'), spec: { cidr: '10.0.0.0/23', blockSize: 26 } });
    server.injectConflicts(100, 'IPAMBlock');
    const agents = Array.from({ length: 5 }, (_, i) => ({
      node: `node-${i}`,
      ipam: new IpamAllocator(fx.store(server), { retry: { attempts: 200, maxDelayMs: 100 } }),
    }));
    const started = performance.now();
    const results = await Promise.allSettled(
      agents.flatMap(({ node, ipam }) =>
        Array.from({ length: 100 }, async (_, i) => {
          const handle = `${node}-c${i}.eth0`;
          const got = await ipam.assign({ handle, node });
          return { handle, address: (got.v4 as AssignedAddress).address };
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    assert.deepEqual(failed, []);
    const handed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    assert.equal(handed.length, 500);
    assert.equal(new Set(handed.map((h) => h.address)).size, 500, 'no address handed out twice');

    const stored = new Map<string, string>();
    const blocks = (await admin.list<IPAMBlock>('IPAMBlock')).items;
    for (const b of blocks) {
      const prefix = Prefix.parse(b.spec.cidr);
      checkBlock(b.spec, Number(prefix.size));
      for (const a of b.spec.allocations) {
        const address = prefix.addressAt(a.ordinal).toString();
        assert.ok(!stored.has(address), `${address} stored twice`);
        stored.set(address, a.handle);
      }
    }
    assert.deepEqual(
      stored,
      new Map(handed.map((h) => [h.address, h.handle])),
      'the store holds exactly what was handed out',
    );
    const owners = new Map<string, string[]>();
    for (const a of (await admin.list<BlockAffinity>('BlockAffinity')).items) {
      owners.set(a.spec.cidr, [...(owners.get(a.spec.cidr) ?? []), a.spec.node]);
    }
    for (const b of blocks)
      if (b.spec.affinity !== null) assert.deepEqual(owners.get(b.spec.cidr), [b.spec.affinity]);
    console.log(
      `      storm: 500 allocations in ${seconds.toFixed(2)} s (${(500 / seconds).toFixed(0)}/s), ` +
        `${blocks.length} blocks, ${server.counts.update} PUTs, ${server.failures['Conflict'] ?? 0} Conflicts (100 injected), ` +
        `${server.failures['AlreadyExists'] ?? 0} AlreadyExists, ` +
        `${JSON.stringify(server.counts)}`,
    );
  });
});
