// The main job: a multi-node Trellis lab on the embedded datastore. Node namespaces share one L2
// segment (a bridge in a "fabric" namespace), each runs a real `trellis agent`, and every pod is
// attached by running the real `trellis-cni` binary exactly as a container runtime does (env +
// config on stdin, result JSON on stdout). Routes between nodes come from host-gw mode.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileDatastore } from '../../src/datastore/file.js';
import { isAlreadyExists } from '../../src/datastore/types.js';
import { Lab, labDown } from '../../src/lab/index.js';
import type { Logger } from '../../src/log.js';
import { validateResource } from '../../src/resources/index.js';

export const DEMO_PREFIX = 'tdemo';
export const DEMO_DIR = '/run/trellis-lab-demo';
const FABRIC_V4 = '10.250.0';
const FABRIC_V6 = 'fd00:250::';
/** Each agent serves /healthz, /readyz and /metrics on its node's loopback. */
export const AGENT_HTTP_PORT = 9099;
export const DEMO_POOLS = { ipv4: '10.244.0.0/16', ipv6: 'fd00:10:244::/112' };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHIM_PATH = join(repoRoot, 'dist/bin/trellis-cni');
const CLI_PATH = join(repoRoot, 'dist/src/cli/main.js');

export interface DemoOptions {
  nodes: number;
  podsPerNode: number;
  dir?: string;
  /** Lab namespace prefix; tests use their own so they never touch a running demo. */
  prefix?: string;
  log: Logger;
}

export interface DemoPod {
  name: string;
  node: string;
  netns: string;
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
  reachability: Reachability[];
}

interface CniIp {
  address: string;
}
interface CniAddResult {
  interfaces: { name: string; sandbox?: string }[];
  ips: CniIp[];
}

export async function labUp(opts: DemoOptions): Promise<DemoReport> {
  const dir = opts.dir ?? DEMO_DIR;
  const prefix = opts.prefix ?? DEMO_PREFIX;
  const lab = await Lab.create({ prefix, detached: true, logger: opts.log });
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const datastoreDir = join(dir, 'datastore');
    await seedDatastore(datastoreDir);

    const nodes: DemoNode[] = [];
    for (let i = 1; i <= opts.nodes; i++) {
      nodes.push({
        name: `n${i}`,
        ipv4: `${FABRIC_V4}.${10 + i}`,
        ipv6: `${FABRIC_V6}${10 + i}`,
        netns: lab.nsName(`n${i}`),
      });
    }
    await lab.addNamespace('fabric');
    await lab.addNamespaces(
      nodes.map((n) => n.name),
      { sysctls: { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 } },
    );
    await lab.addBridgeSegment('fabric', 'br0', [
      ...nodes.map((n) => ({ ns: n.name, ifname: 'eth0', address: [`${n.ipv4}/24`, `${n.ipv6}/64`] })),
    ]);
    await lab.ip('fabric', [`addr add ${FABRIC_V4}.1/24 dev br0`, `addr add ${FABRIC_V6}1/64 dev br0`]);
    // A default route out of eth0, as a real node has: proxy ARP answers for 169.254.1.1 only when
    // the node has a route for it out of another interface.
    await Promise.all(
      nodes.map((n) =>
        lab.ip(n.name, [`route add default via ${FABRIC_V4}.1`, `route add ::/0 via ${FABRIC_V6}1`]),
      ),
    );

    for (const n of nodes) {
      const nodeDir = join(dir, n.name);
      mkdirSync(nodeDir, { recursive: true });
      writeFileSync(
        join(nodeDir, '10-trellis.conflist'),
        `${JSON.stringify(conflist(join(nodeDir, 'cni.sock')), null, 2)}\n`,
      );
      await lab.spawn(
        n.name,
        process.execPath,
        [
          CLI_PATH,
          '--datastore',
          datastoreDir,
          '--log-level',
          'info',
          'agent',
          '--node',
          n.name,
          '--ipv4',
          `${n.ipv4}/24`,
          '--ipv6',
          `${n.ipv6}/64`,
          '--label',
          `trellis.network/lab=${DEMO_PREFIX}`,
          '--cni-socket',
          join(nodeDir, 'cni.sock'),
          '--http',
          `127.0.0.1:${AGENT_HTTP_PORT}`,
        ],
        { logFile: join(nodeDir, 'agent.log') },
      );
    }
    await Promise.all(nodes.map((n) => waitForSocket(join(dir, n.name, 'cni.sock'), 15_000)));

    const pods: DemoPod[] = [];
    for (const n of nodes) {
      const names = Array.from({ length: opts.podsPerNode }, (_, i) => `${n.name}-p${i + 1}`);
      const netnses = await lab.addNamespaces(names);
      const added = await Promise.all(
        names.map((name, i) => cniAdd(lab, n, join(dir, n.name), name, `/run/netns/${netnses[i]}`)),
      );
      pods.push(...added);
    }
    const reachability = await probeAll(lab, pods);
    writeFileSync(join(dir, 'lab.json'), `${JSON.stringify({ nodes, pods }, null, 2)}\n`);
    return { nodes, pods, reachability };
  } catch (err) {
    await lab.teardown();
    throw err;
  }
}

export async function labTeardown(dir: string = DEMO_DIR, prefix: string = DEMO_PREFIX): Promise<void> {
  await labDown(prefix);
  rmSync(dir, { recursive: true, force: true });
}

async function seedDatastore(dir: string): Promise<void> {
  const store = await FileDatastore.open(dir, { validate: validateResource });
  try {
    for (const [family, cidr] of Object.entries(DEMO_POOLS)) {
      try {
        await store.create({
          apiVersion: 'trellis.network/v1',
          kind: 'IPPool',
          metadata: { name: `lab-${family}` },
          spec: { cidr },
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
  } finally {
    await store.close();
  }
}

function conflist(agentSocket: string): object {
  return {
    cniVersion: '1.1.0',
    name: 'trellis',
    plugins: [
      {
        type: 'trellis-cni',
        mtu: 1500,
        agentSocket,
        ipam: { type: 'trellis-ipam', assignIPv4: true, assignIPv6: true },
      },
    ],
  };
}

/** Runs trellis-cni ADD inside the node's namespace, as the node's container runtime would. */
async function cniAdd(
  lab: Lab,
  node: DemoNode,
  nodeDir: string,
  pod: string,
  netns: string,
): Promise<DemoPod> {
  const list = conflist(join(nodeDir, 'cni.sock')) as { cniVersion: string; name: string; plugins: object[] };
  const config = { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
  const result = await lab.exec(node.name, SHIM_PATH, [], {
    input: JSON.stringify(config),
    env: {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: `lab-${pod}`,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: dirname(SHIM_PATH),
    },
    allowFailure: true,
  });
  if (result.exitCode !== 0)
    throw new Error(`CNI ADD for ${pod} failed: ${result.stdout.trim() || result.stderr.trim()}`);
  const parsed = JSON.parse(result.stdout) as CniAddResult;
  const addr = (v6: boolean): string =>
    parsed.ips.map((ip) => ip.address.split('/')[0] ?? '').find((a) => a.includes(':') === v6) ?? '';
  return {
    name: pod,
    node: node.name,
    netns,
    ipv4: addr(false),
    ipv6: addr(true),
    hostIfname: parsed.interfaces.find((i) => i.sandbox === undefined)?.name ?? '',
  };
}

async function waitForSocket(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`agent socket ${path} did not come up in ${timeoutMs} ms (see its agent.log)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every ordered pod pair, IPv4 and IPv6; a pair gets a few tries while routes converge. */
async function probeAll(lab: Lab, pods: DemoPod[]): Promise<Reachability[]> {
  const ping = async (from: DemoPod, to: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await lab.exec(from.name, 'ping', ['-c1', '-W1', to], { allowFailure: true });
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
    table(
      ['node', 'address', 'ipv6'],
      report.nodes.map((n) => [n.name, n.ipv4, n.ipv6]),
    ),
    '',
  );
  lines.push(
    'PODS',
    table(
      ['pod', 'node', 'ipv4', 'ipv6', 'host veth'],
      report.pods.map((p) => [p.name, p.node, p.ipv4, p.ipv6, p.hostIfname]),
    ),
    '',
  );
  const names = report.pods.map((p) => p.name);
  const cell = (from: string, to: string): string => {
    if (from === to) return '-';
    const r = report.reachability.find((x) => x.from === from && x.to === to);
    return r === undefined ? '?' : `${r.ipv4 ? 'ok' : 'FAIL'}/${r.ipv6 ? 'ok' : 'FAIL'}`;
  };
  lines.push(
    'REACHABILITY (ping ipv4/ipv6, row = from, column = to)',
    table(
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

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}
