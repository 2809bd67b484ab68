// Scale measurement (reported, never asserted): 100,000 IPv4 /32s from one eBGP peer into the
// Loc-RIB and out to two peers' Adj-RIB-Out, as a session delivers them (UPDATEs of ~800
// prefixes, one attribute set each). Correctness of the result is asserted; time and heap are printed.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Prefix, packUpdates } from '../../bgp/codec/index.js';
import { Rib } from '../../bgp/rib/index.js';
import { announce, v4Attributes } from './fixtures/rib-builders.js';

const COUNT = 100_000;
const PER_UPDATE = 800;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe('bgp/rib scale (measurement)', () => {
  it(`${COUNT.toLocaleString('en')} prefixes: receive into the Loc-RIB, export to 2 peers, pack`, () => {
    const prefixes: Prefix[] = Array.from({ length: COUNT }, (_, i) => ({
      family: 'ipv4',
      addr: `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`,
      len: 32,
    }));
    const updates = [];
    for (let i = 0; i < COUNT; i += PER_UPDATE) {
      const chunk = prefixes.slice(i, i + PER_UPDATE).map((p) => `${p.addr}/${p.len}`);
      updates.push(
        announce(
          chunk,
          v4Attributes({ asPath: [65001, 65010], nextHop: '192.0.2.2', communities: [0xfde80001] }),
        ),
      );
    }
    const before = heapMb();
    const rib = new Rib({ routerId: '10.0.0.1', localAs: 65000 });
    let kernelChanges = 0;
    rib.onChange(() => kernelChanges++);
    const session = {
      routerId: '10.9.9.9',
      families: ['ipv4' as const],
      addresses: { ipv4: { nextHop: '192.0.2.1' } },
    };
    rib.addPeer({ id: 'src', address: '192.0.2.2', asn: 65001 });
    rib.addPeer({ id: 'ebgp', address: '192.0.2.3', asn: 65002 });
    rib.addPeer({ id: 'ibgp', address: '192.0.2.4', asn: 65000 });
    for (const id of ['src', 'ebgp', 'ibgp']) rib.peerUp(id, session, () => {});
    for (const id of ['src', 'ebgp', 'ibgp']) rib.takeOutbound(id);

    const t0 = performance.now();
    for (const u of updates) rib.receive('src', u);
    const t1 = performance.now();
    const out = ['ebgp', 'ibgp'].map((id) => rib.takeOutbound(id));
    const t2 = performance.now();
    let messages = 0;
    for (const batches of out) {
      for (const b of batches) {
        if (b.kind === 'announce')
          messages += packUpdates(b.attributes, b.prefixes, {
            fourOctetAs: true,
            extendedMessage: false,
          }).length;
      }
    }
    const t3 = performance.now();
    const held = heapMb() - before;

    assert.equal(rib.size, COUNT);
    assert.equal(kernelChanges, COUNT);
    for (const batches of out) {
      assert.equal(
        batches.reduce((n, b) => n + (b.kind === 'announce' ? b.prefixes.length : 0), 0),
        COUNT,
      );
      // One attribute set in, one group out per peer: the session can fill every UPDATE.
      assert.equal(batches.filter((b) => b.kind === 'announce').length, 1);
    }
    console.log(
      `      receive+decide ${(t1 - t0).toFixed(0)} ms, Adj-RIB-Out x2 ${(t2 - t1).toFixed(0)} ms, ` +
        `packUpdates x2 ${(t3 - t2).toFixed(0)} ms (${messages} UPDATEs), heap held ${held.toFixed(1)} MB`,
    );
    // Keep the RIB alive until the heap was measured.
    assert.ok(rib.counts('ebgp').advertised === COUNT);
  });
});
