// CNI ADD/DEL latency and parallel-ADD wall time: trellis-cni (with its agent) next to the
// reference ptp + host-local plugins, in one run, on the same node namespace and the same pod
// namespaces. Both plugins are spawned by one driver process inside the node namespace
// (cni-driver.ts), so process-start overhead is the same for both.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildShim, Cluster, type ClusterNode, SHIM_PATH } from '../../agent/lab/cluster.js';
import { isRoot } from '../../src/lab/index.js';
import type { DriverCall, DriverJob, DriverResult } from './cni-driver.js';
import { type BenchSection, type BenchTable, percentile } from './section.js';

const ATTACHMENTS = 200;
const PARALLEL = 100;
const DRIVER = join(dirname(fileURLToPath(import.meta.url)), 'cni-driver.js');
const REFERENCE_DIR = '/usr/lib/cni';

interface PluginUnderTest {
  label: string;
  binary: string;
  cniPath: string;
  config: object;
}

interface PluginNumbers {
  add: number[];
  del: number[];
  parallelAddWallMs: number;
}

export const cniSection: BenchSection = { name: 'cni', run: runCniBench };

async function runCniBench(): Promise<BenchTable[]> {
  if (!isRoot()) throw new Error('the CNI benchmark needs root (network namespaces)');
  buildShim();
  const cluster = await Cluster.start({ nodes: 1, pools: [{ name: 'bench-v4', cidr: '10.244.0.0/16' }] });
  const hostLocalDir = mkdtempSync(join(tmpdir(), 'trlbench-hostlocal-'));
  try {
    const node = cluster.node('n1');
    const pods = await cluster.podNamespaces(Array.from({ length: ATTACHMENTS }, (_, i) => `b${i}`));
    const plugins: PluginUnderTest[] = [
      {
        label: 'trellis-cni',
        binary: SHIM_PATH,
        cniPath: dirname(SHIM_PATH),
        config: cluster.netConfig(node, { assignIPv4: true, ipv4Pools: ['bench-v4'] }),
      },
      {
        label: 'ptp+host-local',
        binary: join(REFERENCE_DIR, 'ptp'),
        cniPath: REFERENCE_DIR,
        config: {
          cniVersion: '1.0.0',
          name: 'bench-ptp',
          type: 'ptp',
          mtu: 1500,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.246.0.0/16' }]], dataDir: hostLocalDir },
        },
      },
    ];
    const numbers: PluginNumbers[] = [];
    for (const plugin of plugins) numbers.push(await measure(cluster, node, plugin, pods));
    const footprint = await cluster.footprint();
    if (footprint.handles.length + footprint.veths.length + footprint.podRoutes.length > 0) {
      throw new Error(`trellis left attachments behind: ${JSON.stringify(footprint)}`);
    }
    const log = readFileSync(join(node.dir, 'agent.log'), 'utf8');
    return [table(plugins, numbers, agentDurations(log, 'ADD'), addSplit(log))];
  } finally {
    await cluster.stop();
    rmSync(hostLocalDir, { recursive: true, force: true });
  }
}

async function measure(
  cluster: Cluster,
  node: ClusterNode,
  plugin: PluginUnderTest,
  pods: readonly string[],
): Promise<PluginNumbers> {
  const calls = (command: string, names: readonly string[]): DriverCall[] =>
    names.map((ns) => ({
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: `bench-${ns}`,
        CNI_NETNS: `/run/netns/${cluster.lab.nsName(ns)}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: plugin.cniPath,
      },
      stdin: JSON.stringify(plugin.config),
    }));
  const drive = async (
    command: string,
    names: readonly string[],
    concurrency: number,
  ): Promise<DriverResult> => {
    const job: DriverJob = { plugin: plugin.binary, calls: calls(command, names), concurrency };
    const r = await cluster.lab.exec(node.name, process.execPath, [DRIVER], {
      input: JSON.stringify(job),
      timeoutMs: 300_000,
    });
    const result = JSON.parse(r.stdout) as DriverResult;
    if (result.failure !== undefined) throw new Error(`${plugin.label} ${command}: ${result.failure}`);
    return result;
  };
  const add = await drive('ADD', pods, 1);
  const del = await drive('DEL', pods, 1);
  const burst = pods.slice(0, PARALLEL);
  const parallelAdd = await drive('ADD', burst, PARALLEL);
  await drive('DEL', burst, PARALLEL);
  return { add: add.latenciesMs, del: del.latenciesMs, parallelAddWallMs: parallelAdd.wallMs };
}

/** The agent's own time per request (its log's durationMs), without spawn and socket costs. */
function agentDurations(log: string, command: string): number[] {
  return log
    .split('\n')
    .filter((l) => l.includes('"msg":"cni request"'))
    .map((l) => JSON.parse(l) as { command?: string; durationMs?: number })
    .filter((e) => e.command === command && typeof e.durationMs === 'number')
    .map((e) => e.durationMs as number);
}

/** Where the agent's ADD time goes: IPAM (datastore) and dataplane (netlink), p50 of each. */
function addSplit(log: string): { ipam: number[]; dataplane: number[] } {
  const added = log
    .split('\n')
    .filter((l) => l.includes('"msg":"attachment added"'))
    .map((l) => JSON.parse(l) as { ipamMs?: number; dataplaneMs?: number });
  const sorted = (xs: (number | undefined)[]): number[] =>
    xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  return { ipam: sorted(added.map((a) => a.ipamMs)), dataplane: sorted(added.map((a) => a.dataplaneMs)) };
}

function table(
  plugins: readonly PluginUnderTest[],
  numbers: readonly PluginNumbers[],
  agentAdd: number[],
  split: { ipam: number[]; dataplane: number[] },
): BenchTable {
  const sorted = numbers.map((n) => ({
    add: [...n.add].sort((a, b) => a - b),
    del: [...n.del].sort((a, b) => a - b),
    wall: n.parallelAddWallMs,
  }));
  const metrics: { name: string; of: (s: (typeof sorted)[number]) => number }[] = [
    { name: `ADD p50 (ms, ${ATTACHMENTS} sequential)`, of: (s) => percentile(s.add, 50) },
    { name: 'ADD p95 (ms)', of: (s) => percentile(s.add, 95) },
    { name: `DEL p50 (ms, ${ATTACHMENTS} sequential)`, of: (s) => percentile(s.del, 50) },
    { name: 'DEL p95 (ms)', of: (s) => percentile(s.del, 95) },
    { name: `${PARALLEL} parallel ADDs, wall (ms)`, of: (s) => s.wall },
  ];
  const [mine, reference] = sorted;
  const agentSorted = [...agentAdd].sort((a, b) => a - b);
  return {
    title: 'CNI: trellis-cni + agent vs reference ptp + host-local (same node, same pod namespaces)',
    columns: ['metric', ...plugins.map((p) => p.label), 'ratio'],
    rows: metrics.map((m) => {
      const a = m.of(mine!);
      const b = m.of(reference!);
      return [m.name, a.toFixed(1), b.toFixed(1), (a / b).toFixed(2)];
    }),
    notes: [
      'latency = spawn to exit, measured by one driver process inside the node namespace',
      `agent-side ADD time (agent log durationMs, all ${agentSorted.length} ADDs): ` +
        `p50 ${percentile(agentSorted, 50).toFixed(1)} ms, p95 ${percentile(agentSorted, 95).toFixed(1)} ms`,
      `of which IPAM (datastore) p50 ${percentile(split.ipam, 50).toFixed(1)} ms, ` +
        `dataplane (netlink) p50 ${percentile(split.dataplane, 50).toFixed(1)} ms`,
    ],
  };
}
