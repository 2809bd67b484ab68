// A Trellis cluster in network namespaces, for `trellis lab`, the end-to-end tests and the
// benchmarks: node namespaces on one bridge (default route each, as a real node has), a real
// `trellis agent` process per node on a shared file datastore, and pods attached by running the
// real trellis-cni binary inside the node's namespace exactly as a container runtime does
// (CNI_* environment, config on stdin).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileDatastore } from '../../src/datastore/file.js';
import type { Datastore } from '../../src/datastore/types.js';
import { runCommand } from '../../src/lab/commands.js';
import { Lab, type LabProcess, waitForListener } from '../../src/lab/index.js';
import type { Logger } from '../../src/log.js';
import { type Allocation, type IPAMBlock, validateResource } from '../../src/resources/index.js';
import { hostVethName } from '../dataplane/naming.js';
import { TorRouter } from './tor.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHIM_PATH = join(REPO_ROOT, 'dist/bin/trellis-cni');
const CLI_PATH = join(REPO_ROOT, 'dist/src/cli/main.js');

export interface PoolSeed {
  name: string;
  cidr: string;
  blockSize?: number;
}

export interface ClusterOptions {
  nodes: number;
  pools: readonly PoolSeed[];
  /** Agent leak-sweep period (`--gc-interval`). */
  gcIntervalMs?: number;
  prefix?: string;
  /** State directory (datastore, sockets, agent logs); default a fresh temp directory. */
  dir?: string;
  /** Keep running after this process exits (`trellis lab up`); removed by `labDown`. */
  detached?: boolean;
  /** The nodes' shared segment: `<v4>.<11+i>/24` and `<v6><11+i>/64`; the fabric takes `.1`. */
  fabric?: { v4: string; v6: string };
  /** Each agent serves /healthz, /readyz and /metrics on its node's loopback at this port. */
  agentHttpPort?: number;
  /** More `trellis agent` flags, e.g. ['--no-policy']. */
  agentArgs?: readonly string[];
  /** A ToR router on the fabric: the nodes learn each other's blocks from it over BGP. */
  tor?: TorOptions;
  log?: Logger;
}

/**
 * The ToR (FRR in the fabric namespace, at the fabric's `.1`) in `asNumber`; node `i` (from 0) is
 * in AS `nodeAsBase + i`, a rack of one, so every session is eBGP. The nodes run `--bgp` with
 * the node-to-node mesh off and one BGPPeer per family pointing at the ToR.
 */
export interface TorOptions {
  asNumber: number;
  nodeAsBase: number;
  /** Seconds; short so a dead peer is noticed quickly in the lab. */
  keepaliveTime: number;
  holdTime: number;
}

export const DEFAULT_TOR: TorOptions = { asNumber: 65000, nodeAsBase: 65001, keepaliveTime: 3, holdTime: 9 };

const DEFAULT_FABRIC = { v4: '10.251.0', v6: 'fd00:251::' };

export interface ClusterNode {
  name: string;
  netns: string;
  ipv4: string;
  ipv6: string;
  dir: string;
  socket: string;
  /** The agent's BGP control socket (`trellis bgp peers --socket`), when the cluster has a ToR. */
  bgpSocket: string;
  /** The node's AS, when the cluster has a ToR. */
  asNumber: number | undefined;
  agent: LabProcess | undefined;
}

export interface ShimRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What trellis-cni printed for a failed call (CNI spec section 5 "Error"). */
export interface CniErrorReply {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export interface AddedPod {
  containerId: string;
  node: ClusterNode;
  /** Lab namespace name of the pod (without the lab prefix). */
  ns: string;
  netnsPath: string;
  ipv4: string | undefined;
  ipv6: string | undefined;
  hostIfname: string;
  /** The ADD result as printed, for CHECK's prevResult. */
  result: CniResultJson;
}

export interface CniResultJson {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

/** What the kernel and the datastore hold that belongs to pod attachments. */
export interface Footprint {
  /** IPAM handles that hold an address. */
  handles: string[];
  /** `node/trlXXXX` host veths. */
  veths: string[];
  /** `node/address/len` Trellis (proto 45) host routes to single pods. */
  podRoutes: string[];
}

export function buildShim(): void {
  execFileSync('bash', [join(REPO_ROOT, 'scripts/build-cni-shim.sh')], { stdio: 'inherit' });
}

export class Cluster {
  readonly lab: Lab;
  readonly dir: string;
  readonly datastoreDir: string;
  readonly nodes: ClusterNode[];
  readonly tor: TorRouter | undefined;
  readonly #store: FileDatastore;
  readonly #opts: ClusterOptions;

  private constructor(
    lab: Lab,
    dir: string,
    store: FileDatastore,
    nodes: ClusterNode[],
    tor: TorRouter | undefined,
    opts: ClusterOptions,
  ) {
    this.lab = lab;
    this.dir = dir;
    this.datastoreDir = join(dir, 'datastore');
    this.#store = store;
    this.nodes = nodes;
    this.tor = tor;
    this.#opts = opts;
  }

  /** Brings the cluster up; on failure removes whatever it made and rethrows. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const lab = await Lab.create({
      ...(opts.prefix ? { prefix: opts.prefix } : {}),
      detached: opts.detached === true,
      ...(opts.log ? { logger: opts.log } : {}),
    });
    // Short: agent sockets live here and a socket path must fit 107 bytes.
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'trle2e-'));
    mkdirSync(dir, { recursive: true });
    const fabric = opts.fabric ?? DEFAULT_FABRIC;
    let store: FileDatastore | undefined;
    try {
      store = await FileDatastore.open(join(dir, 'datastore'), { validate: validateResource });
      for (const p of opts.pools) {
        await store.create({
          apiVersion: 'trellis.network/v1',
          kind: 'IPPool',
          metadata: { name: p.name },
          spec: { cidr: p.cidr, ...(p.blockSize === undefined ? {} : { blockSize: p.blockSize }) },
        });
      }
      const nodes: ClusterNode[] = Array.from({ length: opts.nodes }, (_, i) => {
        const name = `n${i + 1}`;
        const nodeDir = join(dir, name);
        mkdirSync(nodeDir);
        return {
          name,
          netns: lab.nsName(name),
          ipv4: `${fabric.v4}.${11 + i}`,
          ipv6: `${fabric.v6}${11 + i}`,
          dir: nodeDir,
          socket: join(nodeDir, 'cni.sock'),
          bgpSocket: join(nodeDir, 'bgp.sock'),
          asNumber: opts.tor === undefined ? undefined : opts.tor.nodeAsBase + i,
          agent: undefined,
        };
      });
      // With a ToR the fabric routes between nodes (a ToR's next hop may be itself).
      await lab.addNamespace(
        'fabric',
        opts.tor === undefined
          ? {}
          : { sysctls: { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 } },
      );
      await lab.addNamespaces(
        nodes.map((n) => n.name),
        { sysctls: { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 } },
      );
      await lab.addBridgeSegment(
        'fabric',
        'br0',
        nodes.map((n) => ({ ns: n.name, ifname: 'eth0', address: [`${n.ipv4}/24`, `${n.ipv6}/64`] })),
      );
      await lab.ip('fabric', [`addr add ${fabric.v4}.1/24 dev br0`, `addr add ${fabric.v6}1/64 dev br0`]);
      // Proxy ARP answers a pod's ARP for 169.254.1.1 only when the node routes that address out
      // of another interface; a default route, as every real node has, provides that.
      await Promise.all(
        nodes.map((n) =>
          lab.ip(n.name, [`route add default via ${fabric.v4}.1`, `route add ::/0 via ${fabric.v6}1`]),
        ),
      );
      let tor: TorRouter | undefined;
      if (opts.tor !== undefined) {
        await seedBgpResources(store, nodes, fabric, opts.tor);
        // FRR drops to user frr, which must be able to reach its directory inside ours.
        chmodSync(dir, 0o711);
        tor = await TorRouter.start(lab, 'fabric', join(dir, 'tor'), {
          asNumber: opts.tor.asNumber,
          routerId: `${fabric.v4}.1`,
          listenRanges: { ipv4: `${fabric.v4}.0/24`, ipv6: `${fabric.v6}/64` },
          keepaliveTime: opts.tor.keepaliveTime,
          holdTime: opts.tor.holdTime,
        });
      }
      const cluster = new Cluster(lab, dir, store, nodes, tor, opts);
      await Promise.all(nodes.map((n) => cluster.startAgent(n)));
      return cluster;
    } catch (err) {
      await store?.close();
      await lab.teardown();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The cluster's datastore, as this process sees it (the agents watch the same directory). */
  get datastore(): Datastore {
    return this.#store;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** Starts (or restarts) the node's agent and waits until its CNI socket answers. */
  async startAgent(node: ClusterNode): Promise<void> {
    node.agent = await this.lab.spawn(
      node.name,
      process.execPath,
      [
        CLI_PATH,
        '--datastore',
        this.datastoreDir,
        '--log-level',
        'info',
        'agent',
        '--node',
        node.name,
        '--ipv4',
        `${node.ipv4}/24`,
        '--ipv6',
        `${node.ipv6}/64`,
        '--cni-socket',
        node.socket,
        '--label',
        `trellis.network/lab=${this.lab.prefix}`,
        ...(this.#opts.gcIntervalMs === undefined ? [] : ['--gc-interval', String(this.#opts.gcIntervalMs)]),
        ...(this.#opts.agentHttpPort === undefined
          ? []
          : ['--http', `127.0.0.1:${this.#opts.agentHttpPort}`]),
        ...(this.tor === undefined ? [] : ['--bgp', '--bgp-control-socket', node.bgpSocket]),
        ...(this.#opts.agentArgs ?? []),
      ],
      { logFile: join(node.dir, 'agent.log') },
    );
    await waitForListener(node.agent, node.socket, {
      what: `the agent of ${node.name}`,
      timeoutMs: 15_000,
      logFile: join(node.dir, 'agent.log'),
    });
  }

  /** SIGTERM: the agent stops cleanly (pods and routes stay in the kernel). */
  async stopAgent(node: ClusterNode): Promise<void> {
    const agent = node.agent;
    if (agent === undefined) return;
    await this.lab.stop(agent);
    node.agent = undefined;
  }

  /** SIGKILL: the agent gets no chance to finish anything it was doing. */
  async killAgent(node: ClusterNode): Promise<void> {
    const agent = node.agent;
    if (agent === undefined) return;
    process.kill(agent.pid, 'SIGKILL');
    await agent.exited;
    node.agent = undefined;
  }

  /** The node's conflist, as its container runtime would read it from /etc/cni/net.d. */
  conflist(
    node: ClusterNode,
    ipam: Record<string, unknown>,
  ): { cniVersion: string; name: string; plugins: object[] } {
    return {
      cniVersion: '1.1.0',
      name: 'trellis',
      plugins: [
        { type: 'trellis-cni', mtu: 1500, agentSocket: node.socket, ipam: { type: 'trellis-ipam', ...ipam } },
      ],
    };
  }

  /** The flat plugin configuration a runtime derives from the node's conflist. */
  netConfig(node: ClusterNode, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): object {
    const list = this.conflist(node, ipam);
    return { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0], ...extra };
  }

  /** Runs trellis-cni inside the node's namespace with exactly `env` (plus the inherited PATH etc.). */
  async shim(node: ClusterNode, env: Record<string, string>, stdin: string): Promise<ShimRun> {
    const r = await this.lab.exec(node.name, SHIM_PATH, [], {
      input: stdin,
      env,
      allowFailure: true,
      timeoutMs: 30_000,
    });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  /** Creates pod namespaces (one `ip` call for all). Returns their lab names. */
  async podNamespaces(names: readonly string[]): Promise<string[]> {
    await this.lab.addNamespaces(names);
    return [...names];
  }

  async add(
    node: ClusterNode,
    containerId: string,
    ns: string,
    ipam: Record<string, unknown>,
    netnsPath: string = `/run/netns/${this.lab.nsName(ns)}`,
  ): Promise<AddedPod> {
    const r = await this.shim(
      node,
      attachmentEnv('ADD', containerId, netnsPath),
      JSON.stringify(this.netConfig(node, ipam)),
    );
    if (r.exitCode !== 0) throw new ShimFailure('ADD', containerId, r);
    const result = JSON.parse(r.stdout) as CniResultJson;
    const addr = (v6: boolean): string | undefined =>
      result.ips.map((ip) => ip.address.split('/')[0] ?? '').find((a) => a.includes(':') === v6);
    return {
      containerId,
      node,
      ns,
      netnsPath,
      ipv4: addr(false),
      ipv6: addr(true),
      hostIfname: result.interfaces.find((i) => i.sandbox === undefined)?.name ?? '',
      result,
    };
  }

  async del(node: ClusterNode, containerId: string, netnsPath?: string): Promise<ShimRun> {
    const env = attachmentEnv('DEL', containerId, netnsPath);
    return this.shim(node, env, JSON.stringify(this.netConfig(node, {})));
  }

  /** Every pod-attachment trace in the datastore and in the node namespaces. */
  async footprint(): Promise<Footprint> {
    const blocks = await this.#store.list<IPAMBlock>('IPAMBlock');
    const handles = blocks.items.flatMap((b) => b.spec.allocations.map((a: Allocation) => a.handle)).sort();
    const veths: string[] = [];
    const podRoutes: string[] = [];
    await Promise.all(
      this.nodes.map(async (n) => {
        const links = JSON.parse(
          (await runCommand('ip', ['-n', n.netns, '-j', 'link', 'show', 'type', 'veth'])).stdout,
        ) as { ifname: string }[];
        veths.push(...links.filter((l) => l.ifname.startsWith('trl')).map((l) => `${n.name}/${l.ifname}`));
        for (const family of ['-4', '-6']) {
          const routes = JSON.parse(
            (await runCommand('ip', ['-n', n.netns, family, '-j', 'route', 'show', 'proto', '45'])).stdout,
          ) as { dst: string }[];
          for (const r of routes) {
            // iproute2 prints a /32 or /128 route's destination without its length.
            if (!r.dst.includes('/')) podRoutes.push(`${n.name}/${r.dst}`);
          }
        }
      }),
    );
    return { handles, veths: veths.sort(), podRoutes: podRoutes.sort() };
  }

  /** What the footprint must be when exactly `pods` are attached. */
  static expectedFootprint(pods: readonly AddedPod[]): Footprint {
    return {
      handles: pods
        .flatMap((p) => [p.ipv4, p.ipv6].filter((a) => a !== undefined).map(() => `${p.containerId}.eth0`))
        .sort(),
      veths: pods.map((p) => `${p.node.name}/${hostVethName(p.containerId, 'eth0')}`).sort(),
      podRoutes: pods
        .flatMap((p) => [p.ipv4, p.ipv6].filter((a) => a !== undefined).map((a) => `${p.node.name}/${a}`))
        .sort(),
    };
  }

  /** Closes this process's datastore handle; a detached cluster keeps running. */
  async release(): Promise<void> {
    await this.#store.close();
  }

  /** Stops the agents, removes every namespace and the state directory. */
  async stop(): Promise<void> {
    try {
      await this.#store.close();
      await this.lab.teardown();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/**
 * What makes the agents peer with the ToR instead of meshing: BGPConfiguration `default` with
 * the mesh off, each node's TrellisNode with its own AS (the agent keeps a spec it finds), and a
 * BGPPeer per family for every node.
 */
async function seedBgpResources(
  store: Datastore,
  nodes: readonly ClusterNode[],
  fabric: { v4: string; v6: string },
  tor: TorOptions,
): Promise<void> {
  await store.create({
    apiVersion: 'trellis.network/v1',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { nodeToNodeMesh: false, keepaliveTime: tor.keepaliveTime, holdTime: tor.holdTime },
  });
  for (const n of nodes) {
    await store.create({
      apiVersion: 'trellis.network/v1',
      kind: 'TrellisNode',
      metadata: { name: n.name },
      spec: { addresses: { ipv4: `${n.ipv4}/24`, ipv6: `${n.ipv6}/64` }, asNumber: n.asNumber },
    });
  }
  for (const [family, peerIP] of [
    ['ipv4', `${fabric.v4}.1`],
    ['ipv6', `${fabric.v6}1`],
  ] as const) {
    await store.create({
      apiVersion: 'trellis.network/v1',
      kind: 'BGPPeer',
      metadata: { name: `tor-${family}` },
      spec: { peerIP, asNumber: tor.asNumber },
    });
  }
}

export class ShimFailure extends Error {
  override readonly name = 'ShimFailure';
  constructor(
    readonly command: string,
    readonly containerId: string,
    readonly run: ShimRun,
  ) {
    super(
      `CNI ${command} of ${containerId} exited ${run.exitCode}: ${run.stdout.trim() || run.stderr.trim()}`,
    );
  }
}

export function attachmentEnv(
  command: string,
  containerId: string,
  netnsPath?: string,
): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    ...(netnsPath === undefined ? {} : { CNI_NETNS: netnsPath }),
    CNI_IFNAME: 'eth0',
    CNI_PATH: dirname(SHIM_PATH),
  };
}

/** The error JSON trellis-cni printed on stdout; throws when the call did not fail that way. */
export function cniError(run: ShimRun): CniErrorReply {
  if (run.exitCode === 0) throw new Error(`expected a CNI error, the call succeeded: ${run.stdout}`);
  return JSON.parse(run.stdout) as CniErrorReply;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
