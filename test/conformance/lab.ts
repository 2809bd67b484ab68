// The conformance lab: one node namespace (forwarding on, default route through an uplink
// namespace, as a real node has), nine pod namespaces attached by the real dataplane
// (PodInterfaces), one pod agent per pod, and the node's PolicyApplier. Everything lives in one Lab, so teardown removes
// namespaces and agents even when a test failed half way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodInterfaces } from '../../agent/dataplane/pod-interface.js';
import { type ApplyReport, PolicyApplier } from '../../policy/apply/index.js';
import type { RenderedPolicy } from '../../policy/render.js';
import { Lab } from '../../src/lab/index.js';
import { silentLogger } from '../../src/log.js';
import { RouteNetlink } from '../../src/netlink/index.js';
import { AgentClient } from './agent-client.js';
import { initialWorld, podId, type World } from './world.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'pod-agent.js');
const NODE = 'node';
const podNs = (id: string): string => id.replace('/', '-');

export class ConformanceLab {
  private constructor(
    readonly lab: Lab,
    /** The initial world, every pod with its host interface. */
    readonly world: World,
    readonly agents: ReadonlyMap<string, AgentClient>,
    private readonly applier: PolicyApplier,
    private readonly scratchDir: string,
  ) {}

  static async create(): Promise<ConformanceLab> {
    const lab = await Lab.create();
    const scratchDir = mkdtempSync(join(tmpdir(), `trellis-conformance-${lab.prefix}-`));
    try {
      const [nodeNs] = await lab.addNamespaces([NODE, 'up'], { sysctls: { 'net.ipv4.ip_forward': 1 } });
      const bare = initialWorld();
      await lab.addNamespaces(bare.pods.map((p) => podNs(podId(p))));
      // Proxy ARP answers the pods' gateway only when the node routes 169.254.1.1 out of
      // another interface: an uplink with a default route, where nothing ever answers.
      await lab.connect({
        a: { ns: NODE, ifname: 'up0', address: '192.0.2.1/24' },
        b: { ns: 'up', ifname: 'eth0', address: '192.0.2.2/24' },
      });
      await lab.ip(NODE, ['route add default via 192.0.2.2']);
      const nodePath = `/run/netns/${nodeNs}`;
      const netlink = RouteNetlink.open({ netnsPath: nodePath });
      const world: World = { ...bare, pods: [] };
      try {
        const pods = new PodInterfaces(netlink, silentLogger, nodePath);
        for (const pod of bare.pods) {
          const id = podId(pod);
          const { hostIfname } = pods.add({
            containerId: `conformance-${lab.prefix}-${podNs(id)}`,
            ifname: 'eth0',
            netnsPath: `/run/netns/${lab.nsName(podNs(id))}`,
            mtu: 1500,
            addresses: pod.podIPs.map((address) => ({ family: 4 as const, address })),
          });
          world.pods.push({ ...pod, hostInterface: hostIfname });
        }
      } finally {
        netlink.close();
      }
      const agents = new Map<string, AgentClient>();
      await Promise.all(
        world.pods.map(async (pod) => {
          const id = podId(pod);
          const control = join(scratchDir, `${podNs(id)}.sock`);
          await lab.spawn(podNs(id), process.execPath, [AGENT, control, pod.podIPs[0]!], {
            logFile: join(scratchDir, `${podNs(id)}.log`),
          });
          const client = new AgentClient(control);
          await client.waitReady(10000);
          agents.set(id, client);
        }),
      );
      const applier = new PolicyApplier({ netns: nodeNs! });
      await applier.ensureFailClosed();
      return new ConformanceLab(lab, world, agents, applier, scratchDir);
    } catch (err) {
      await lab.teardown();
      rmSync(scratchDir, { recursive: true, force: true });
      throw err;
    }
  }

  agent(id: string): AgentClient {
    const a = this.agents.get(id);
    if (a === undefined) throw new Error(`no pod ${id}`);
    return a;
  }

  /** Incremental and atomic: only changed sets and chains are rewritten. */
  applyPolicy(rendered: RenderedPolicy): Promise<ApplyReport> {
    return this.applier.apply(rendered);
  }

  /** Resolves when the last apply's follow-up (stale chains and sets removed) is done. */
  settled(): Promise<void> {
    return this.applier.settled();
  }

  /** Runs a command in the node namespace (conntrack, iptables-save). */
  async inNode(cmd: string, args: string[]): Promise<string> {
    return (await this.lab.exec(NODE, cmd, args)).stdout;
  }

  async teardown(): Promise<void> {
    try {
      await this.lab.teardown();
    } finally {
      rmSync(this.scratchDir, { recursive: true, force: true });
    }
  }
}
