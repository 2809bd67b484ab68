// The lab's top-of-rack router: FRR (zebra + bgpd) in the fabric namespace, peering over eBGP
// with every node on the fabric segment and installing what it learns in the fabric's kernel.
// Its sockets, pid files, configs and logs live in a private directory (never /var/run/frr), and
// both daemons run in the foreground under Lab.spawn, so the lab's teardown stops them.
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/lab/commands.js';
import { type Lab, type LabProcess, waitForListener } from '../../src/lab/index.js';

export interface TorConfig {
  /** The ToR's AS; nodes peer with it over eBGP from their own AS(es). */
  asNumber: number;
  /** Its address on the fabric segment (also its router id). */
  routerId: string;
  /** Sessions from any address in these ranges are accepted (`bgp listen range`). */
  listenRanges: { ipv4: string; ipv6: string };
  keepaliveTime: number;
  holdTime: number;
}

const DAEMONS = ['zebra', 'bgpd'] as const;
type Daemon = (typeof DAEMONS)[number];
/** The socket each daemon listens on once it is ready to serve. */
const READY_SOCKET: Record<Daemon, string> = { zebra: 'zserv.api', bgpd: 'bgpd.vty' };

/** zebra.conf and bgpd.conf for `cfg`. */
export function torConfigFiles(cfg: TorConfig): Record<Daemon, string> {
  const group = { ipv4: 'NODES4', ipv6: 'NODES6' } as const;
  const lines = [
    'hostname tor',
    `router bgp ${cfg.asNumber}`,
    ` bgp router-id ${cfg.routerId}`,
    // FRR >= 7.4 drops eBGP routes without an explicit policy (RFC 8212) unless this is off.
    ' no bgp ebgp-requires-policy',
    // IPv4 sessions carry IPv4 and IPv6 sessions IPv6, as our speaker offers them.
    ' no bgp default ipv4-unicast',
    ...(['ipv4', 'ipv6'] as const).flatMap((family) => [
      ` neighbor ${group[family]} peer-group`,
      // Any AS but ours: every node (or rack) may have its own.
      ` neighbor ${group[family]} remote-as external`,
      ` neighbor ${group[family]} timers ${cfg.keepaliveTime} ${cfg.holdTime}`,
      // Nodes added later peer without a config change.
      ` bgp listen range ${cfg.listenRanges[family]} peer-group ${group[family]}`,
    ]),
    ...(['ipv4', 'ipv6'] as const).flatMap((family) => [
      ` address-family ${family} unicast`,
      `  neighbor ${group[family]} activate`,
      ' exit-address-family',
    ]),
    'exit',
  ];
  return { zebra: 'hostname tor\n', bgpd: `${lines.join('\n')}\n` };
}

export type Family = 'ipv4' | 'ipv6';

/** One best path in the ToR's BGP table. */
export interface TorRoute {
  prefix: string;
  /** Global next-hop addresses (an IPv6 path's link-local one left out). */
  nextHops: string[];
  asPath: number[];
  /** Kept while its peer restarts (graceful restart, RFC 4724) until it re-sends it. */
  stale: boolean;
}

/** One BGP session of the ToR. */
export interface TorSession {
  address: string;
  remoteAs: number;
  /** FSM state, e.g. Established, Active. */
  state: string;
  prefixesReceived: number;
}

/** Parse failures of FRR's JSON output: a different FRR version or an error message. */
export class TorOutputError extends Error {
  override readonly name = 'TorOutputError';
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TorOutputError(`${what}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    return objectOf(JSON.parse(text), what);
  } catch (err) {
    if (err instanceof TorOutputError) throw err;
    throw new TorOutputError(`${what}: not JSON: ${text.slice(0, 200)}`);
  }
}

/** The best paths in `show bgp <family> unicast json`. */
export function parseTorRoutes(text: string): TorRoute[] {
  const routes = objectOf(parseJson(text, 'bgp table')['routes'] ?? {}, 'bgp table routes');
  const out: TorRoute[] = [];
  for (const [prefix, raw] of Object.entries(routes)) {
    if (!Array.isArray(raw)) throw new TorOutputError(`bgp table ${prefix}: expected a list of paths`);
    const best = raw.map((p) => objectOf(p, `bgp table ${prefix}`)).find((p) => p['bestpath'] === true);
    if (best === undefined) continue;
    const nextHops = Array.isArray(best['nexthops']) ? best['nexthops'] : [];
    out.push({
      prefix,
      nextHops: nextHops
        .map((n) => objectOf(n, `bgp table ${prefix} nexthop`))
        .filter((n) => n['scope'] !== 'link-local' && typeof n['ip'] === 'string')
        .map((n) => String(n['ip'])),
      asPath: String(best['path'] ?? '')
        .split(' ')
        .filter((a) => a !== '')
        .map(Number),
      stale: best['stale'] === true,
    });
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/** The sessions in `show bgp summary json` (both families). */
export function parseTorSessions(text: string): TorSession[] {
  const summary = parseJson(text, 'bgp summary');
  const out: TorSession[] = [];
  for (const key of ['ipv4Unicast', 'ipv6Unicast']) {
    if (summary[key] === undefined) continue;
    const peers = objectOf(objectOf(summary[key], key)['peers'] ?? {}, `${key} peers`);
    for (const [address, raw] of Object.entries(peers)) {
      const p = objectOf(raw, `${key} peer ${address}`);
      out.push({
        address,
        remoteAs: Number(p['remoteAs']),
        state: String(p['state']),
        prefixesReceived: Number(p['pfxRcd'] ?? 0),
      });
    }
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

export class TorRouter {
  readonly #lab: Lab;
  readonly #ns: string;
  /** Private FRR directory: configs, vty and zserv sockets, pid files, logs. */
  readonly dir: string;
  readonly asNumber: number;
  readonly #processes = new Map<Daemon, LabProcess>();

  private constructor(lab: Lab, ns: string, dir: string, asNumber: number) {
    this.#lab = lab;
    this.#ns = ns;
    this.dir = dir;
    this.asNumber = asNumber;
  }

  /** Writes the configs and starts zebra, then bgpd, in lab namespace `ns`. */
  static async start(lab: Lab, ns: string, dir: string, cfg: TorConfig): Promise<TorRouter> {
    mkdirSync(dir, { recursive: true });
    const files = torConfigFiles(cfg);
    for (const daemon of DAEMONS) writeFileSync(join(dir, `${daemon}.conf`), files[daemon]);
    // The daemons drop to user frr and create their sockets, pid files and logs here.
    const uid = Number((await runCommand('id', ['-u', 'frr'])).stdout.trim());
    const gid = Number((await runCommand('id', ['-g', 'frr'])).stdout.trim());
    for (const f of ['', ...DAEMONS.map((d) => `${d}.conf`)]) chownSync(join(dir, f), uid, gid);
    const tor = new TorRouter(lab, ns, dir, cfg.asNumber);
    // zebra first: bgpd connects to its zserv socket.
    for (const daemon of DAEMONS) await tor.#startDaemon(daemon);
    return tor;
  }

  async #startDaemon(daemon: Daemon): Promise<void> {
    const ready = join(this.dir, READY_SOCKET[daemon]);
    // A stopped daemon leaves its socket file behind; the restarted one replaces it.
    rmSync(ready, { force: true });
    const proc = await this.#lab.spawn(
      this.#ns,
      `/usr/lib/frr/${daemon}`,
      [
        // Private sockets and pid file; -A 127.0.0.1 -P 0 turns the TCP vty off.
        '-z',
        join(this.dir, 'zserv.api'),
        '--vty_socket',
        this.dir,
        '-A',
        '127.0.0.1',
        '-P',
        '0',
        '-f',
        join(this.dir, `${daemon}.conf`),
        '-i',
        join(this.dir, `${daemon}.pid`),
        '--log',
        `file:${join(this.dir, `${daemon}.log`)}`,
      ],
      { logFile: join(this.dir, `${daemon}.out`) },
    );
    this.#processes.set(daemon, proc);
    await waitForListener(proc, ready, {
      what: daemon,
      timeoutMs: 10_000,
      logFile: join(this.dir, `${daemon}.out`),
    });
  }

  /** Stops bgpd: every session closes and zebra removes the routes it had installed. */
  async stopBgp(): Promise<void> {
    const bgpd = this.#processes.get('bgpd');
    if (bgpd === undefined) return;
    await this.#lab.stop(bgpd);
    this.#processes.delete('bgpd');
  }

  /** Starts bgpd again with the same configuration. */
  async startBgp(): Promise<void> {
    if (this.#processes.has('bgpd')) return;
    await this.#startDaemon('bgpd');
  }

  /** One vtysh command against this ToR's daemons. */
  async vtysh(command: string): Promise<string> {
    return (await runCommand('vtysh', ['--vty_socket', this.dir, '-c', command], { timeoutMs: 10_000 }))
      .stdout;
  }

  async routes(family: Family): Promise<TorRoute[]> {
    return parseTorRoutes(await this.vtysh(`show bgp ${family} unicast json`));
  }

  async sessions(): Promise<TorSession[]> {
    return parseTorSessions(await this.vtysh('show bgp summary json'));
  }
}
