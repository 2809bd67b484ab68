// Test namespaces with a per-run prefix, and `ip` as the independent observer of kernel state.
import { execFileSync } from 'node:child_process';
import type { RouteInfo } from '../../src/netlink/index.js';

let counter = 0;

export function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function ipJson<T>(args: readonly string[]): T {
  return JSON.parse(ip(['-j', ...args])) as T;
}

/** Skips the suite with a clear reason unless running as root. */
export function requireRoot(ctx: Mocha.Context): void {
  if (process.getuid?.() !== 0) {
    console.log('    (skipped: netlink kernel tests need root to create network namespaces)');
    ctx.skip();
  }
}

/**
 * A veth pair up0/up1 inside `ns`, up0 holding 192.0.2.1/24 and 2001:db8:1::1/64: on-link subnets
 * for gateways (192.0.2.x, 2001:db8:1::x) without any peer namespace.
 */
export function addUplink(ns: TestNs): void {
  ip(['-n', ns.name, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);
  ip(['-n', ns.name, 'link', 'set', 'up1', 'up']);
  ip(['-n', ns.name, 'addr', 'add', '192.0.2.1/24', 'dev', 'up0']);
  ip(['-n', ns.name, 'addr', 'add', '2001:db8:1::1/64', 'dev', 'up0', 'nodad']);
}

/** The routes of `protocol` in `ns` as `ip -j` (an independent reader) prints them, by dst with its length. */
export function routesByDst<T extends { readonly dst: string }>(
  ns: TestNs,
  family: 4 | 6,
  protocol: number,
): Map<string, T> {
  const routes = ipJson<T[]>(['-n', ns.name, `-${family}`, 'route', 'show', 'proto', String(protocol)]);
  return new Map(routes.map((r) => [r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`, r]));
}

export interface TestNs {
  readonly name: string;
  readonly path: string;
}

/** Namespaces named nltest-<pid>-<n>-<suffix>; `removeAll` deletes every one, even on failure paths. */
export class TestNamespaces {
  readonly #created: TestNs[] = [];
  readonly #prefix = `nltest-${process.pid}-${++counter}`;

  add(suffix: string): TestNs {
    const name = `${this.#prefix}-${suffix}`;
    ip(['netns', 'add', name]);
    const ns = { name, path: `/run/netns/${name}` };
    this.#created.push(ns);
    return ns;
  }

  /**
   * Two namespaces joined by a veth named eth0 on both ends, `<subnet>.1/24` and `<subnet>.2/24`,
   * links and loopbacks up.
   */
  pair(suffixA: string, suffixB: string, subnet: string): [TestNs, TestNs] {
    const a = this.add(suffixA);
    const b = this.add(suffixB);
    ip(['-n', a.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.name]);
    for (const [ns, host] of [
      [a, 1],
      [b, 2],
    ] as const) {
      ip(['-n', ns.name, 'addr', 'add', `${subnet}.${host}/24`, 'dev', 'eth0']);
      ip(['-n', ns.name, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns.name, 'link', 'set', 'lo', 'up']);
    }
    return [a, b];
  }

  removeAll(): void {
    const failures: string[] = [];
    for (const ns of this.#created.splice(0)) {
      try {
        ip(['netns', 'del', ns.name]);
      } catch (err) {
        failures.push(`${ns.name}: ${String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`could not delete test namespaces: ${failures.join('; ')}`);
  }
}

interface IpRoute {
  type: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table: string;
  protocol: string;
  scope: string;
  metric?: number;
  prefsrc?: string;
  flags: string[];
  nexthops?: { gateway: string; dev?: string; weight: number; flags: string[] }[];
}

const PROTOCOL_NAMES: Record<string, number> = { redirect: 1, kernel: 2, boot: 3, static: 4 };
const TABLE_NAMES: Record<string, number> = { main: 254, local: 255, default: 253 };
const SCOPE_NAMES: Record<string, RouteInfo['scope']> = {
  global: 'universe',
  site: 'site',
  link: 'link',
  host: 'host',
  nowhere: 'nowhere',
};

/** `ip -d -j route show table all` in a namespace, in RouteInfo shape, to compare with listRoutes. */
export function ipRoutes(ns: TestNs, family: 4 | 6): RouteInfo[] {
  const links = ipJson<{ ifindex: number; ifname: string }[]>(['-n', ns.name, 'link', 'show']);
  const index = (dev: string): number => {
    const link = links.find((l) => l.ifname === dev);
    if (link === undefined) throw new Error(`ip reported unknown device ${dev}`);
    return link.ifindex;
  };
  const hostLen = family === 4 ? 32 : 128;
  const zero = family === 4 ? '0.0.0.0/0' : '::/0';
  return ipJson<IpRoute[]>(['-n', ns.name, `-${family}`, '-d', 'route', 'show', 'table', 'all']).map((r) => ({
    family,
    dst: r.dst === 'default' ? zero : r.dst.includes('/') ? r.dst : `${r.dst}/${hostLen}`,
    type: r.type as RouteInfo['type'],
    protocol: PROTOCOL_NAMES[r.protocol] ?? Number(r.protocol),
    table: TABLE_NAMES[r.table] ?? Number(r.table),
    scope: SCOPE_NAMES[r.scope]!,
    ...(r.gateway === undefined ? {} : { gateway: r.gateway }),
    ...(r.dev === undefined ? {} : { oif: index(r.dev) }),
    ...(r.metric === undefined ? {} : { metric: r.metric }),
    ...(r.prefsrc === undefined ? {} : { src: r.prefsrc }),
    ...(r.flags.includes('onlink') ? { onlink: true } : {}),
    ...(r.nexthops === undefined
      ? {}
      : {
          multipath: r.nexthops.map((h) => ({
            gateway: h.gateway,
            ...(h.dev === undefined ? {} : { oif: index(h.dev) }),
            weight: h.weight,
          })),
        }),
  }));
}

/** Stable order for comparing route lists. */
export function byDst(a: RouteInfo, b: RouteInfo): number {
  return `${a.table} ${a.dst} ${a.type}`.localeCompare(`${b.table} ${b.dst} ${b.type}`);
}
