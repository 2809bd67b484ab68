// Measurement, not a test: how long 100,000 /32 routes take through applyRouteBatch and through
// `ip -batch`, and what one pod ADD (veth + addresses + routes on both sides) costs.
// Run as root: node dist/test/netlink/measure-routes.js [routes] [rounds] [pods]
// Everything happens inside throwaway namespaces (nlmeasure-<pid>-*), deleted on exit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RouteNetlink, type RouteSpec, TRELLIS_RT_PROTO } from '../../src/netlink/index.js';

const ROUTES = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const PODS = Number(process.argv[4] ?? 50);
const PREFIX = `nlmeasure-${process.pid}`;
const GATEWAY = '10.255.0.2';

const created: string[] = [];

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

function addNamespace(suffix: string): { name: string; path: string } {
  const name = `${PREFIX}-${suffix}`;
  ip(['netns', 'add', name]);
  created.push(name);
  return { name, path: `/run/netns/${name}` };
}

interface Timing {
  wallMs: number;
  /** CPU of this process plus reaped children (ip): unlike wall time, robust to a busy machine. */
  cpuMs: number;
}

/** cutime + cstime of reaped children from /proc/self/stat, in ms (USER_HZ is 100 on Linux). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)" start at field 3, so cutime (16) and cstime (17) are at 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function timed(fn: () => void): Timing {
  const cpu = process.cpuUsage();
  const children = childrenCpuMs();
  const start = process.hrtime.bigint();
  fn();
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 + childrenCpuMs() - children };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

function routeDst(i: number): string {
  return `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
}

function measureRoutes(): void {
  const ns = addNamespace('routes');
  const nl = RouteNetlink.open({ netnsPath: ns.path });
  const tmp = mkdtempSync(join(tmpdir(), 'nlmeasure-'));
  try {
    const link = nl.createVeth({ name: 'uplink', up: true, peer: { name: 'uplink-peer' } });
    nl.setLinkUp(nl.getLink('uplink-peer').index);
    nl.addAddress({ ifindex: link.index, family: 4, address: '10.255.0.1', prefixLen: 24 });
    const specs: RouteSpec[] = [];
    for (let i = 0; i < ROUTES; i++) specs.push({ family: 4, dst: routeDst(i), gateway: GATEWAY });
    const addFile = join(tmp, 'add');
    const delFile = join(tmp, 'del');
    const lines = (verb: string): string =>
      specs.map((s) => `route ${verb} ${s.dst} via ${GATEWAY} proto ${TRELLIS_RT_PROTO}\n`).join('');
    writeFileSync(addFile, lines('replace'));
    writeFileSync(delFile, lines('del'));

    const count = (): number => nl.listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }).length;
    const results: Record<string, Timing[]> = {
      'applyRouteBatch replace': [],
      'applyRouteBatch delete': [],
      'listRoutes (dump+decode)': [],
      'ip -batch replace': [],
      'ip -batch delete': [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      results['applyRouteBatch replace']!.push(
        timed(() => {
          const r = nl.applyRouteBatch(specs.map((route) => ({ op: 'replace', route })));
          if (r.failed.length > 0) throw r.failed[0]!.error;
        }),
      );
      let listed = 0;
      results['listRoutes (dump+decode)']!.push(
        timed(() => {
          listed = count();
        }),
      );
      if (listed !== ROUTES) throw new Error(`expected ${ROUTES} routes, found ${listed}`);
      results['applyRouteBatch delete']!.push(
        timed(() => {
          const r = nl.applyRouteBatch(specs.map((route) => ({ op: 'delete', route })));
          if (r.failed.length > 0) throw r.failed[0]!.error;
        }),
      );
      if (count() !== 0) throw new Error('routes left after batch delete');

      results['ip -batch replace']!.push(timed(() => ip(['-n', ns.name, '-batch', addFile])));
      if (count() !== ROUTES) throw new Error('ip -batch did not install every route');
      results['ip -batch delete']!.push(timed(() => ip(['-n', ns.name, '-batch', delFile])));
      if (count() !== 0) throw new Error('routes left after ip -batch delete');
    }
    console.log(
      `${ROUTES} IPv4 /32 routes via a gateway, ${ROUNDS} rounds, median ms (wall / cpu incl. ip):`,
    );
    for (const [name, timings] of Object.entries(results)) {
      const wall = median(timings.map((t) => t.wallMs)).toFixed(0);
      const cpu = median(timings.map((t) => t.cpuMs)).toFixed(0);
      console.log(`  ${name.padEnd(26)} ${wall.padStart(6)} / ${cpu.padStart(5)}`);
    }
  } finally {
    nl.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** What the CNI dataplane does for one pod, minus sysctls: veth, addresses and routes on both sides. */
function measurePodAdd(): void {
  const node = addNamespace('node');
  const host = RouteNetlink.open({ netnsPath: node.path });
  const pods = Array.from({ length: PODS }, (_, i) => addNamespace(`pod${i}`));
  try {
    const latencies = pods.map(
      (pod, i) =>
        timed(() => {
          const v4 = `10.128.${i >> 8}.${i & 255}`;
          const v6 = `fd00:128::${i.toString(16)}`;
          const veth = host.createVeth({
            name: `trl${i}`,
            mtu: 1450,
            mac: 'ee:ee:ee:ee:ee:ee',
            up: true,
            peer: { name: 'eth0', netnsPath: pod.path },
          });
          host.addRoute({ family: 4, dst: `${v4}/32`, oif: veth.index, scope: 'link' });
          host.addRoute({ family: 6, dst: `${v6}/128`, oif: veth.index });
          const inPod = RouteNetlink.open({ netnsPath: pod.path });
          try {
            const eth0 = inPod.getLink('eth0').index;
            inPod.setLinkUp(eth0);
            inPod.addAddress({ ifindex: eth0, family: 4, address: v4, prefixLen: 32 });
            inPod.addAddress({ ifindex: eth0, family: 6, address: v6, prefixLen: 128, nodad: true });
            inPod.addRoute({ family: 4, dst: '169.254.1.1/32', oif: eth0, scope: 'link' });
            inPod.addRoute({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1', oif: eth0 });
            inPod.addRoute({ family: 6, dst: '::/0', gateway: 'fe80::1', oif: eth0 });
          } finally {
            inPod.close();
          }
        }).wallMs,
    );
    console.log(`pod ADD (veth + 2 host routes + pod socket, link up, 2 addresses, 3 routes), ${PODS} pods:`);
    console.log(
      `  median ${median(latencies).toFixed(2)} ms, p90 ${percentile(latencies, 90).toFixed(2)} ms, ` +
        `first ${latencies[0]!.toFixed(2)} ms`,
    );
  } finally {
    host.close();
  }
}

function cleanup(): void {
  for (const name of created.splice(0)) {
    try {
      ip(['netns', 'del', name]);
    } catch (err) {
      console.error(`could not delete namespace ${name}: ${String(err)}`);
    }
  }
}

if (process.getuid?.() !== 0) {
  console.error('measure-routes needs root (it creates network namespaces)');
  process.exit(1);
}
try {
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  measureRoutes();
  measurePodAdd();
} finally {
  cleanup();
}
