// The main job: a multi-node Trellis lab on the embedded datastore. Node namespaces share one L2
// segment (a bridge in a "fabric" namespace), each runs a real `trellis agent`, and every pod is
// attached by running the real `trellis-cni` binary exactly as a container runtime does (env +
// config on stdin, result JSON on stdout). By default a ToR router (FRR) on the segment peers
// over eBGP with every node's agent, and routes between nodes come from BGP; without it, from
// host-gw mode.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from '../../src/cli/table.js';
import { labDown } from '../../src/lab/index.js';
import type { Logger } from '../../src/log.js';
import { type BgpView, waitForBgp } from './bgp-view.js';
import { type AddedPod, Cluster, DEFAULT_TOR } from './cluster.js';

export const DEMO_PREFIX = 'tdemo';
export const DEMO_DIR = '/run/trellis-lab-demo';
/** Each agent serves /healthz, /readyz and /metrics on its node's loopback. */
export const AGENT_HTTP_PORT = 9099;
export const DEMO_POOLS = { ipv4: '10.244.0.0/16', ipv6: 'fd00:10:244::/112' };
const IPAM = { assignIPv4: true, assignIPv6: true };

export interface DemoOptions {
  nodes: number;
  podsPerNode: number;
  dir?: string;
  /** Lab namespace prefix; tests use their own so they never touch a running demo. */
  prefix?: string;
  /** Default true: a ToR peers with every node over BGP; false: host-gw routes. */
  tor?: boolean;
  log: Logger;
}

export interface DemoPod {
  name: string;
  node: string;
  ipv4: string;
  ipv6: string;
  hostIfname: string;
}

export interface DemoNode {
  name: string;
  ipv4: string;
  ipv6: string;
  netns: string;
}

export interface Reachability {
  from: string;
  to: string;
  ipv4: boolean;
  ipv6: boolean;
}

export interface DemoReport {
  nodes: DemoNode[];
  pods: DemoPod[];
  /** With a ToR: sessions and routes once every block was everywhere. */
  bgp: BgpView | undefined;
  /** With a ToR: from the last pod added until the ToR and every node held every block. */
  bgpConvergedMs: number | undefined;
  reachability: Reachability[];
}

/** How long the ToR and the nodes get to learn every block. */
const BGP_CONVERGENCE_TIMEOUT_MS = 30_000;

export async function labUp(opts: DemoOptions): Promise<DemoReport> {
  const dir = opts.dir ?? DEMO_DIR;
  rmSync(dir, { recursive: true, force: true });
  const cluster = await Cluster.start({
    nodes: opts.nodes,
    pools: Object.entries(DEMO_POOLS).map(([family, cidr]) => ({ name: `lab-${family}`, cidr })),
    prefix: opts.prefix ?? DEMO_PREFIX,
    dir,
    detached: true,
    fabric: { v4: '10.250.0', v6: 'fd00:250::' },
    agentHttpPort: AGENT_HTTP_PORT,
    ...(opts.tor === false ? {} : { tor: DEFAULT_TOR }),
    log: opts.log,
  });
  try {
    const added: AddedPod[] = [];
    for (const node of cluster.nodes) {
      // What the node's runtime would read from /etc/cni/net.d, for the operator to look at.
      writeFileSync(
        join(node.dir, '10-trellis.conflist'),
        `${JSON.stringify(cluster.conflist(node, IPAM), null, 2)}\n`,
      );
      const names = await cluster.podNamespaces(
        Array.from({ length: opts.podsPerNode }, (_, i) => `${node.name}-p${i + 1}`),
      );
      added.push(...(await Promise.all(names.map((ns) => cluster.add(node, `lab-${ns}`, ns, IPAM)))));
    }
    const pods = added.map((p) => ({
      name: p.ns,
      node: p.node.name,
      ipv4: p.ipv4 ?? '',
      ipv6: p.ipv6 ?? '',
      hostIfname: p.hostIfname,
    }));
    const podsAddedAt = Date.now();
    const bgp = cluster.tor === undefined ? undefined : await waitForBgp(cluster, BGP_CONVERGENCE_TIMEOUT_MS);
    const bgpConvergedMs = bgp === undefined ? undefined : Date.now() - podsAddedAt;
    const reachability = await probeAll(cluster, pods);
    const nodes = cluster.nodes.map((n) => ({ name: n.name, ipv4: n.ipv4, ipv6: n.ipv6, netns: n.netns }));
    writeFileSync(join(dir, 'lab.json'), `${JSON.stringify({ nodes, pods }, null, 2)}\n`);
    await cluster.release();
    return { nodes, pods, bgp, bgpConvergedMs, reachability };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

export async function labTeardown(dir: string = DEMO_DIR, prefix: string = DEMO_PREFIX): Promise<void> {
  await labDown(prefix);
  rmSync(dir, { recursive: true, force: true });
}

/** Every ordered pod pair, IPv4 and IPv6; a pair gets a few tries while routes converge. */
async function probeAll(cluster: Cluster, pods: DemoPod[]): Promise<Reachability[]> {
  const ping = async (from: DemoPod, to: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await cluster.lab.exec(from.name, 'ping', ['-c1', '-W1', to], { allowFailure: true });
      if (r.exitCode === 0) return true;
    }
    return false;
  };
  const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
  return Promise.all(
    pairs.map(async ({ from, to }) => ({
      from: from.name,
      to: to.name,
      ipv4: await ping(from, to.ipv4),
      ipv6: await ping(from, to.ipv6),
    })),
  );
}

export function formatReport(report: DemoReport): string {
  const lines: string[] = [];
  lines.push(
    'NODES',
    formatTable(
      ['node', 'address', 'ipv6'],
      report.nodes.map((n) => [n.name, n.ipv4, n.ipv6]),
    ),
    '',
  );
  lines.push(
    'PODS',
    formatTable(
      ['pod', 'node', 'ipv4', 'ipv6', 'host veth'],
      report.pods.map((p) => [p.name, p.node, p.ipv4, p.ipv6, p.hostIfname]),
    ),
    '',
  );
  if (report.bgp !== undefined) lines.push(...formatBgp(report.bgp, report.bgpConvergedMs), '');
  const names = report.pods.map((p) => p.name);
  const cell = (from: string, to: string): string => {
    if (from === to) return '-';
    const r = report.reachability.find((x) => x.from === from && x.to === to);
    return r === undefined ? '?' : `${r.ipv4 ? 'ok' : 'FAIL'}/${r.ipv6 ? 'ok' : 'FAIL'}`;
  };
  lines.push(
    'REACHABILITY (ping ipv4/ipv6, row = from, column = to)',
    formatTable(
      ['from \\ to', ...names],
      names.map((f) => [f, ...names.map((t) => cell(f, t))]),
    ),
  );
  const failed = report.reachability.filter((r) => !r.ipv4 || !r.ipv6).length;
  lines.push(
    '',
    failed === 0
      ? `all ${report.reachability.length} pod pairs reachable over IPv4 and IPv6`
      : `${failed} pod pairs FAILED`,
  );
  return lines.join('\n');
}

function formatBgp(bgp: BgpView, convergedMs: number | undefined): string[] {
  return [
    'BGP SESSIONS (each node’s agent, `trellis bgp peers`)',
    formatTable(
      ['node', 'AS', 'peer', 'address', 'peer AS', 'state', 'received', 'advertised'],
      bgp.nodes.flatMap((n) =>
        n.sessions.map((s) => [
          n.node,
          String(n.asNumber ?? ''),
          s.name,
          s.address,
          String(s.as),
          s.state,
          String(s.prefixesReceived),
          String(s.prefixesAdvertised),
        ]),
      ),
    ),
    '',
    'ROUTES LEARNED OVER BGP (each node’s best paths, installed as proto 46)',
    formatTable(
      ['node', 'prefix', 'next hop', 'AS path'],
      bgp.nodes.flatMap((n) => n.learned.map((r) => [n.node, r.prefix, r.nextHop, r.asPath.join(' ')])),
    ),
    '',
    `TOR (FRR, AS ${bgp.tor.asNumber}) BGP TABLE`,
    formatTable(
      ['prefix', 'next hop', 'AS path'],
      bgp.tor.routes.map((r) => [r.prefix, r.nextHops.join(','), r.asPath.join(' ')]),
    ),
    ...(convergedMs === undefined ? [] : [`converged ${convergedMs} ms after the last pod was added`]),
  ];
}
