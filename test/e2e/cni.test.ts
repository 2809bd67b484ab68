// End to end through the real binaries: two node namespaces on a bridge, a `trellis agent`
// process per node on a file datastore, and trellis-cni run inside the node namespace as a
// runtime runs it. After every case the cluster's footprint (IPAM allocations, trl* veths,
// proto-45 pod routes) must be exactly that of the pods the test still holds: a failed or
// deleted attachment leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AddedPod,
  attachmentEnv,
  buildShim,
  Cluster,
  type ClusterNode,
  cniError,
  mapLimit,
  SHIM_PATH,
  ShimFailure,
} from '../../agent/lab/cluster.js';
import { runCommand } from '../../src/lab/commands.js';
import { requireRoot } from '../../src/lab/index.js';
import { tcpEcho } from '../util/tcp.js';

const GC_INTERVAL_MS = 1500;
const V4 = { assignIPv4: true, ipv4Pools: ['e2e-v4'] };
const DUAL = { assignIPv4: true, assignIPv6: true, ipv4Pools: ['e2e-v4'], ipv6Pools: ['e2e-v6'] };
const TINY = { assignIPv4: true, ipv4Pools: ['e2e-tiny'] };

describe('CNI end to end (root): real agents, real trellis-cni', function () {
  this.timeout(60_000);
  let cluster: Cluster;
  let n1: ClusterNode;
  let n2: ClusterNode;
  /** Pods attached and not yet deleted: the footprint must always be exactly theirs. */
  const live: AddedPod[] = [];
  let podSeq = 0;

  const newPods = async (count: number): Promise<string[]> =>
    cluster.podNamespaces(Array.from({ length: count }, () => `p${++podSeq}`));

  const add = async (node: ClusterNode, ipam: Record<string, unknown> = V4): Promise<AddedPod> => {
    const [ns] = await newPods(1);
    const pod = await cluster.add(node, `e2e-${ns}`, ns!, ipam);
    live.push(pod);
    return pod;
  };

  const del = async (pod: AddedPod, netnsPath: string | undefined = pod.netnsPath): Promise<void> => {
    const r = await cluster.del(pod.node, pod.containerId, netnsPath);
    assert.equal(r.exitCode, 0, `DEL ${pod.containerId}: ${r.stdout}${r.stderr}`);
    live.splice(live.indexOf(pod), 1);
  };

  const assertFootprint = async (): Promise<void> => {
    assert.deepEqual(await cluster.footprint(), Cluster.expectedFootprint(live));
  };

  /** CNI GC on a node, as its runtime sends it: the attachments in `valid` that live there. */
  const gcPass = async (
    node: ClusterNode,
    ipam: Record<string, unknown>,
    valid: readonly AddedPod[],
  ): Promise<void> => {
    const attachments = valid
      .filter((p) => p.node === node)
      .map((p) => ({ containerID: p.containerId, ifname: 'eth0' }));
    const config = { ...cluster.netConfig(node, ipam), 'cni.dev/valid-attachments': attachments };
    const r = await cluster.shim(
      node,
      { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify(config),
    );
    assert.equal(r.exitCode, 0, r.stdout);
  };

  const ping = async (from: AddedPod, to: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await cluster.lab.exec(from.ns, 'ping', ['-c1', '-W1', to], { allowFailure: true });
      if (r.exitCode === 0) return true;
    }
    return false;
  };

  before(async function () {
    requireRoot(this);
    buildShim();
    cluster = await Cluster.start({
      nodes: 2,
      gcIntervalMs: GC_INTERVAL_MS,
      pools: [
        { name: 'e2e-v4', cidr: '10.244.0.0/16' },
        { name: 'e2e-v6', cidr: 'fd00:10:244::/112' },
        // One block of four addresses: the first node to ask owns all of it.
        { name: 'e2e-tiny', cidr: '10.245.0.0/30', blockSize: 30 },
      ],
    });
    n1 = cluster.node('n1');
    n2 = cluster.node('n2');
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const n of cluster?.nodes ?? []) {
        const log = readFileSync(join(n.dir, 'agent.log'), 'utf8').split('\n').slice(-15).join('\n');
        console.error(`--- ${n.name} agent.log (tail) ---\n${log}`);
      }
    }
  });

  describe('requests the agent must refuse, leaving nothing behind', () => {
    let ns: string;
    before(async () => {
      [ns] = await newPods(1);
    });
    const netns = (): string => `/run/netns/${cluster.lab.nsName(ns)}`;

    it('malformed JSON -> 6', async () => {
      const config = JSON.stringify(cluster.netConfig(n1, V4)).replace(/}$/, ',"mtu":}');
      const r = await cluster.shim(n1, attachmentEnv('ADD', 'bad-json', netns()), config);
      assert.equal(cniError(r).code, 6, r.stdout);
      await assertFootprint();
    });

    it('unknown cniVersion -> 1', async () => {
      const config = JSON.stringify({ ...cluster.netConfig(n1, V4), cniVersion: '9.9.9' });
      const r = await cluster.shim(n1, attachmentEnv('ADD', 'bad-version', netns()), config);
      assert.equal(cniError(r).code, 1, r.stdout);
      await assertFootprint();
    });

    it('missing CNI_NETNS -> 4, missing CNI_CONTAINERID -> 4', async () => {
      const config = JSON.stringify(cluster.netConfig(n1, V4));
      const noNetns = await cluster.shim(n1, attachmentEnv('ADD', 'no-netns'), config);
      assert.equal(cniError(noNetns).code, 4, noNetns.stdout);
      assert.match(cniError(noNetns).details ?? '', /CNI_NETNS/);
      const { CNI_CONTAINERID: _, ...noId } = attachmentEnv('ADD', 'x', netns());
      const noContainer = await cluster.shim(n1, noId, config);
      assert.equal(cniError(noContainer).code, 4, noContainer.stdout);
      assert.match(cniError(noContainer).details ?? '', /CNI_CONTAINERID/);
      await assertFootprint();
    });

    // The path is checked before IPAM is touched; a namespace that disappears after that check
    // fails the veth creation and the addresses taken are released (NetnsGoneError -> 4 too).
    it('a network namespace that vanished -> 4 (invalid environment: CNI_NETNS names nothing)', async () => {
      const [gone] = await newPods(1);
      const path = `/run/netns/${cluster.lab.nsName(gone!)}`;
      await runCommand('ip', ['netns', 'del', cluster.lab.nsName(gone!)]);
      const r = await cluster.shim(
        n1,
        attachmentEnv('ADD', 'vanished', path),
        JSON.stringify(cluster.netConfig(n1, V4)),
      );
      assert.equal(cniError(r).code, 4, r.stdout);
      await assertFootprint();
    });

    it('an exhausted pool -> 103, and the addresses it did hand out still work', async () => {
      const taken: AddedPod[] = [];
      let refusal: number | undefined;
      for (let i = 0; i < 6 && refusal === undefined; i++) {
        const [podNs] = await newPods(1);
        try {
          const pod = await cluster.add(n1, `tiny-${podNs}`, podNs!, TINY);
          assert.match(pod.ipv4 ?? '', /^10\.245\.0\.[0-3]$/);
          taken.push(pod);
          live.push(pod);
        } catch (err) {
          if (!(err instanceof ShimFailure)) throw err;
          refusal = cniError(err.run).code;
        }
      }
      assert.equal(refusal, 103);
      assert.ok(taken.length >= 1 && taken.length <= 4, `${taken.length} addresses from a /30`);
      await assertFootprint();
      assert.ok(await ping(taken[0]!, taken[0]!.ipv4!), 'a pod reaches its own tiny-pool address');
      for (const t of taken) await del(t);
      await assertFootprint();
    });
  });

  describe('one attachment through its life', () => {
    let pod: AddedPod;
    let peer: AddedPod;
    before(async () => {
      pod = await add(n1);
      peer = await add(n1);
    });

    it('a duplicate ADD for the same container -> 102, and the first attachment keeps working', async () => {
      const r = await cluster.shim(
        n1,
        attachmentEnv('ADD', pod.containerId, pod.netnsPath),
        JSON.stringify(cluster.netConfig(n1, V4)),
      );
      assert.equal(cniError(r).code, 102, r.stdout);
      await assertFootprint();
      assert.ok(await ping(peer, pod.ipv4!));
    });

    it('CHECK passes on the live attachment', async () => {
      const config = JSON.stringify({ ...cluster.netConfig(n1, V4), prevResult: pod.result });
      const r = await cluster.shim(n1, attachmentEnv('CHECK', pod.containerId, pod.netnsPath), config);
      assert.equal(r.exitCode, 0, r.stdout);
    });

    it('CHECK fails with 104 after the host route to the pod is removed', async () => {
      await runCommand('ip', ['-n', n1.netns, 'route', 'del', `${pod.ipv4}/32`, 'proto', '45']);
      const config = JSON.stringify({ ...cluster.netConfig(n1, V4), prevResult: pod.result });
      const r = await cluster.shim(n1, attachmentEnv('CHECK', pod.containerId, pod.netnsPath), config);
      const err = cniError(r);
      assert.equal(err.code, 104, r.stdout);
      assert.match(err.details ?? '', new RegExp(`host route ${pod.ipv4!.replace(/\./g, '\\.')}/32`));
    });

    it('DEL twice: both succeed, nothing is left', async () => {
      await del(pod);
      const again = await cluster.del(n1, pod.containerId, pod.netnsPath);
      assert.equal(again.exitCode, 0, again.stdout);
      await assertFootprint();
    });

    it('DEL after the pod namespace is gone succeeds and releases the address', async () => {
      await runCommand('ip', ['netns', 'del', cluster.lab.nsName(peer.ns)]);
      await del(peer);
      await assertFootprint();
    });
  });

  describe('VERSION, STATUS, GC', () => {
    it('VERSION lists the supported versions', async () => {
      const r = await cluster.shim(n1, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
      assert.equal(r.exitCode, 0, r.stdout);
      const reply = JSON.parse(r.stdout) as { cniVersion: string; supportedVersions: string[] };
      assert.equal(reply.cniVersion, '1.1.0');
      assert.deepEqual(reply.supportedVersions, ['0.4.0', '1.0.0', '1.1.0']);
    });

    it('STATUS succeeds while an enabled pool exists', async () => {
      const r = await cluster.shim(
        n1,
        { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
        JSON.stringify(cluster.netConfig(n1, V4)),
      );
      assert.equal(r.exitCode, 0, r.stdout);
    });

    // A leak as a crashed runtime leaves it: the veth is gone (the kernel dropped it with the
    // pod), but no DEL ever came. GC is conservative: the first pass only notes the suspect.
    it('GC with cni.dev/valid-attachments releases a leaked allocation on the second pass', async () => {
      const kept = await add(n1);
      const leaked = await add(n1);
      await runCommand('ip', ['-n', n1.netns, 'link', 'del', leaked.hostIfname]);
      const gc = (): Promise<void> => gcPass(n1, V4, [kept]);
      await gc();
      const afterFirst = await cluster.footprint();
      assert.ok(afterFirst.handles.includes(`${leaked.containerId}.eth0`), 'one pass never frees');
      await new Promise((r) => setTimeout(r, GC_INTERVAL_MS + 100));
      await gc();
      live.splice(live.indexOf(leaked), 1);
      await assertFootprint();
      assert.ok(await ping(kept, kept.ipv4!), 'the valid attachment is untouched');
      await del(kept);
      await assertFootprint();
    });
  });

  describe('traffic between pods', () => {
    let a: AddedPod;
    let b: AddedPod;
    let c: AddedPod;
    before(async () => {
      [a, b, c] = await Promise.all([add(n1, DUAL), add(n1, DUAL), add(n2, DUAL)]);
    });
    after(async () => {
      for (const p of [a, b, c]) if (p !== undefined && live.includes(p)) await del(p);
    });

    it('dual-stack pods get one address of each family', () => {
      for (const p of [a, b, c]) {
        assert.match(p.ipv4 ?? '', /^10\.244\./);
        assert.match(p.ipv6 ?? '', /^fd00:10:244::/);
      }
    });

    it('pods on one node ping each other over IPv4 and IPv6 and exchange TCP', async () => {
      assert.ok(await ping(a, b.ipv4!));
      assert.ok(await ping(a, b.ipv6!));
      assert.ok(await tcpEcho(cluster.lab, a.ns, b.ns, b.ipv4!));
    });

    it('pods on different nodes: ping and TCP, seen on the wire as plain pod-to-pod IP', async () => {
      const pcap = join(n2.dir, 'eth0.pcap');
      const log = join(n2.dir, 'tcpdump.log');
      const capture = await cluster.lab.spawn(
        n2.name,
        'tcpdump',
        // Immediate mode: without it packets wait in the kernel ring for up to a second and a
        // SIGTERM before then loses them.
        [
          '-i',
          'eth0',
          '-nn',
          '--immediate-mode',
          '-U',
          '-w',
          pcap,
          'not',
          'arp',
          'and',
          'not',
          'icmp6[0] >= 133',
        ],
        { logFile: log },
      );
      try {
        await waitForText(log, 'listening on', 5000);
        assert.ok(await ping(a, c.ipv4!), 'ping v4 across nodes');
        assert.ok(await ping(a, c.ipv6!), 'ping v6 across nodes');
        assert.ok(await tcpEcho(cluster.lab, a.ns, c.ns, c.ipv4!, 8081), 'TCP v4 across nodes');
        assert.ok(await tcpEcho(cluster.lab, a.ns, c.ns, c.ipv6!, 8082), 'TCP v6 across nodes');
      } finally {
        await cluster.lab.stop(capture);
      }
      const read = await runCommand('tcpdump', ['-nn', '-r', pcap]);
      const text = `${read.stdout}\n${readFileSync(log, 'utf8')}`;
      const has = (re: RegExp): void => assert.match(text, re, text);
      const q = (s: string): string => s.replace(/[.]/g, '\\.');
      has(new RegExp(`IP ${q(a.ipv4!)} > ${q(c.ipv4!)}: ICMP echo request`));
      has(new RegExp(`IP ${q(c.ipv4!)} > ${q(a.ipv4!)}: ICMP echo reply`));
      has(new RegExp(`IP6 ${a.ipv6} > ${c.ipv6}: ICMP6, echo request`));
      has(new RegExp(`IP ${q(a.ipv4!)}\\.\\d+ > ${q(c.ipv4!)}\\.8081: Flags \\[S\\]`));
      has(new RegExp(`IP6 ${a.ipv6}\\.\\d+ > ${c.ipv6}\\.8082: Flags \\[S\\]`));
      // No tunnel headers, and no packet carries a node address: nothing was encapsulated or NATed.
      assert.doesNotMatch(text, /VXLAN|ipip|GRE|UDP, length/i, text);
      assert.doesNotMatch(text, /10\.251\.0\.|fd00:251::/, text);
    });
  });

  describe('many attachments', () => {
    it('200 ADDs then 200 DELs (8 at a time) leave zero allocations, veths and pod routes', async function () {
      this.timeout(80_000);
      const names = await newPods(200);
      const pods = await mapLimit(names, 8, async (ns, i) => {
        const pod = await cluster.add(i % 2 === 0 ? n1 : n2, `bulk-${ns}`, ns, V4);
        live.push(pod);
        return pod;
      });
      assert.equal(new Set(pods.map((p) => p.ipv4)).size, 200, 'distinct addresses');
      await assertFootprint();
      await mapLimit(pods, 8, (p) => del(p));
      await assertFootprint();
      await runCommand('ip', ['-batch', '-'], {
        input: `${names.map((n) => `netns del ${cluster.lab.nsName(n)}`).join('\n')}\n`,
      });
    });
  });

  describe('plugin killed', () => {
    // The runtime's plugin process dies (SIGKILL) while the agent works on its ADDs. The agent
    // sees the shim disconnect and rolls each such ADD back; one that finished before the kill
    // leaves a complete attachment the runtime never heard of, which two CNI GC passes without it
    // reclaim, veth and routes included.
    it('a trellis-cni killed mid-ADD leaves nothing once GC has run twice', async function () {
      this.timeout(30_000);
      const names = await newPods(12);
      const runs = names.map((ns) => {
        const child = spawn('ip', ['netns', 'exec', n2.netns, SHIM_PATH], {
          env: {
            ...process.env,
            ...attachmentEnv('ADD', `killed-${ns}`, `/run/netns/${cluster.lab.nsName(ns)}`),
          },
          stdio: ['pipe', 'ignore', 'ignore'],
        });
        child.stdin.end(JSON.stringify(cluster.netConfig(n2, DUAL)));
        return new Promise<void>((resolve) => {
          child.on('exit', () => resolve());
          setTimeout(() => child.kill('SIGKILL'), 5 + (names.indexOf(ns) % 4) * 5);
        });
      });
      await Promise.all(runs);
      const gc = (): Promise<void> => gcPass(n2, DUAL, live);
      // Let ADDs still running in the agent finish (or roll back) before the first observation.
      await new Promise((r) => setTimeout(r, 500));
      await gc();
      await new Promise((r) => setTimeout(r, GC_INTERVAL_MS + 100));
      await gc();
      await assertFootprint();
    });
  });

  describe('agent crash', () => {
    // The agent dies (SIGKILL) while ADDs are in flight. The runtime saw those ADDs fail and, in
    // this scenario, dies too before sending DEL; when it comes back it reports the attachments it
    // knows with CNI GC, and the restarted agent also runs its own periodic sweeps. Together they
    // must reclaim everything the dead agent half did: addresses, veths and routes.
    it('an agent killed mid-ADD leaves only what the next GC passes reclaim', async function () {
      this.timeout(40_000);
      const names = await newPods(16);
      const logPath = join(n2.dir, 'agent.log');
      const addedBefore = countOccurrences(readFileSync(logPath, 'utf8'), '"attachment added"');
      const runs = names.map((ns) =>
        cluster.add(n2, `kill-${ns}`, ns, DUAL).then(
          (pod) => pod,
          () => undefined,
        ),
      );
      // Killed as soon as the first attachment exists: its reply and the other ADDs are cut off.
      await waitFor(
        () => countOccurrences(readFileSync(logPath, 'utf8'), '"attachment added"') > addedBefore,
        10_000,
      );
      await cluster.killAgent(n2);
      const succeeded = (await Promise.all(runs)).filter((p): p is AddedPod => p !== undefined);
      assert.ok(succeeded.length < names.length, 'some ADDs were cut off by the kill');
      live.push(...succeeded);
      await cluster.startAgent(n2);
      const gc = (): Promise<void> => gcPass(n2, DUAL, live);
      await gc();
      await new Promise((r) => setTimeout(r, GC_INTERVAL_MS + 100));
      await gc();
      // The periodic sweeps run on their own schedule; give them two more periods.
      const deadline = Date.now() + 2 * GC_INTERVAL_MS + 1000;
      const expected = Cluster.expectedFootprint(live);
      let now = await cluster.footprint();
      while (JSON.stringify(now) !== JSON.stringify(expected) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        now = await cluster.footprint();
      }
      try {
        assert.deepEqual(
          now,
          expected,
          'the killed agent left an attachment that GC does not reclaim (see docs/benchmarks.md, e2e findings)',
        );
        for (const p of succeeded) assert.ok(await ping(p, p.ipv4!), `${p.containerId} still works`);
      } finally {
        // What the runtime must do anyway after a failed ADD (CNI spec): DEL it, so a failure
        // here does not spill into the other cases' footprints.
        const failed = names.filter((ns) => !succeeded.some((p) => p.ns === ns));
        await mapLimit(failed, 8, (ns) =>
          cluster.del(n2, `kill-${ns}`, `/run/netns/${cluster.lab.nsName(ns)}`),
        );
        for (const p of succeeded) await del(p);
      }
      await assertFootprint();
    });
  });
});

function countOccurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function waitForText(path: string, text: string, timeoutMs: number): Promise<void> {
  await waitFor(() => {
    try {
      return readFileSync(path, 'utf8').includes(text);
    } catch {
      return false;
    }
  }, timeoutMs);
}
