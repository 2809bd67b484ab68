// Interop harness: BIRD 2, FRR 8.4 (zebra+bgpd), GoBGP 3 and ExaBGP 4, each in its own network
// namespace joined to an 'us' namespace by a dual-stack veth, with configs, sockets, pid and log
// files under a temp dir (the recipe of /work/shared/reference/peers-lab.sh). Each daemon
// enables IPv4 and IPv6 unicast on a session over either family. Our sessions run in this
// process: their sockets are made inside 'us' (bgp/transport `netns`). Also here: reading a
// route back from each daemon's table (heldRoute) and making it withdraw (withdrawAnnounced).

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type LabProcess, waitForListener } from '../../src/lab/index.js';
import { socketAccepts } from '../../src/net/unix-socket.js';
import { waitFor } from '../wait.js';

export type DaemonKind = 'frr' | 'bird' | 'gobgp' | 'exabgp';
export type Family = 'ipv4' | 'ipv6';

export interface PeerOptions {
  readonly kind: DaemonKind;
  /** The daemon's AS. */
  readonly as: number;
  /** Our AS as the daemon expects it. */
  readonly ourAs: number;
  /** The daemon only waits for us to connect. */
  readonly passive?: boolean;
  /** TCP-MD5 key the daemon uses. */
  readonly password?: string;
  /** Hold time the daemon offers (seconds). */
  readonly holdTime?: number;
  readonly gracefulRestart?: boolean;
  /** We are the daemon's route-reflector client (iBGP only). */
  readonly routeReflectorClient?: boolean;
  /** BIRD as reflector: its cluster id (BIRD's default is its router id). */
  readonly clusterId?: string;
  /**
   * BIRD only: how many sessions the daemon runs with 'us' (default 1), each its own protocol
   * (`trellis`, `trellis1`, ...) between its own pair of link addresses: `RunningPeer.sessions`.
   */
  readonly sessions?: number;
  /** Prefixes (IPv4 and IPv6) the daemon announces to us. */
  readonly announce?: readonly string[];
  /** The family of the session's TCP connection; default ipv4. */
  readonly transport?: Family;
  /** Families the daemon enables on the session (MP-BGP); default both (ExaBGP: ipv4). */
  readonly families?: readonly Family[];
}

/** The daemon's and our address of one family on the link between us. */
export interface LinkAddresses {
  readonly peer: string;
  readonly us: string;
}

export interface RunningPeer {
  readonly name: string;
  readonly options: PeerOptions;
  /** The daemon's session address (of `options.transport`); ours on the same link is `ourAddress`. */
  readonly address: string;
  readonly ourAddress: string;
  /** Both families' addresses on the link (IPv6: fd00:251:<i>::/64; the kernel adds link-locals). */
  readonly link: Readonly<Record<Family, LinkAddresses>>;
  /** The address pair of each session (`options.sessions`); the first is address/ourAddress. */
  readonly sessions: readonly LinkAddresses[];
  /** Our end of the link, in 'us'. */
  readonly ourIfname: string;
  readonly routerId: string;
  readonly dir: string;
}

/**
 * Session s (0-based) on link n: 'us' has host 1+2s, the daemon 2+2s, in 10.251.<n>.0/24 and
 * fd00:251:<n>::/64.
 */
function sessionAddresses(n: number, s: number): Record<Family, LinkAddresses> {
  return {
    ipv4: { peer: `10.251.${n}.${2 + 2 * s}`, us: `10.251.${n}.${1 + 2 * s}` },
    ipv6: {
      peer: `fd00:251:${n}::${(2 + 2 * s).toString(16)}`,
      us: `fd00:251:${n}::${(1 + 2 * s).toString(16)}`,
    },
  };
}

const familyOf = (prefix: string): Family => (prefix.includes(':') ? 'ipv6' : 'ipv4');

/** The families a daemon enables: ExaBGP's config here is IPv4 only. */
const familiesOf = (o: PeerOptions): readonly Family[] =>
  o.families ?? (o.kind === 'exabgp' ? ['ipv4'] : ['ipv4', 'ipv6']);

const announced = (o: PeerOptions, family: Family): string[] =>
  (o.announce ?? []).filter((p) => familyOf(p) === family);

export { waitFor } from '../wait.js';

export class InteropLab {
  readonly lab: Lab;
  readonly dir: string;
  /** Network namespace file of 'us', for transportDialer / BgpListener. */
  readonly netns: string;
  readonly #peers = new Map<string, RunningPeer>();
  /** The BGP process of each peer (bgpd, bird, gobgpd, exabgp), for SIGSTOP. */
  readonly #bgpProcess = new Map<string, LabProcess>();
  readonly #processes: LabProcess[] = [];
  #torn = false;

  private constructor(lab: Lab, dir: string, netns: string) {
    this.lab = lab;
    this.dir = dir;
    this.netns = netns;
  }

  /**
   * Creates 'us' and one namespace per peer (link i: 10.251.<i>.0/24 and fd00:251:<i>::/64, us
   * .1/::1 on v<i-1>, peer .2/::2 on eth0), then starts each daemon.
   */
  static async create(peers: Readonly<Record<string, PeerOptions>>): Promise<InteropLab> {
    const lab = await Lab.create();
    const dir = mkdtempSync(join(tmpdir(), 'trellis-interop-'));
    chmodSync(dir, 0o755);
    const names = Object.keys(peers);
    // Without DAD the kernel's link-local addresses are usable as soon as the links are up.
    const [us] = await lab.addNamespaces(['us', ...names], {
      sysctls: { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 },
    });
    const self = new InteropLab(lab, dir, `/run/netns/${us}`);
    try {
      await Promise.all(
        names.map((name, i) => {
          const pairs = Array.from({ length: peers[name]!.sessions ?? 1 }, (_, s) =>
            sessionAddresses(i + 1, s),
          );
          const cidrs = (side: keyof LinkAddresses) =>
            pairs.flatMap((pair) => [`${pair.ipv4[side]}/24`, `${pair.ipv6[side]}/64`]);
          return lab.connect({
            a: { ns: 'us', ifname: `v${i}`, address: cidrs('us') },
            b: { ns: name, ifname: 'eth0', address: cidrs('peer') },
          });
        }),
      );
      await Promise.all(names.map((name, i) => self.#start(name, i + 1, peers[name]!)));
    } catch (err) {
      await self.teardown();
      throw err;
    }
    return self;
  }

  peer(name: string): RunningPeer {
    const p = this.#peers.get(name);
    if (p === undefined) throw new Error(`no peer ${name}`);
    return p;
  }

  async #start(name: string, index: number, options: PeerOptions): Promise<void> {
    const dir = join(this.dir, name);
    execFileSync('mkdir', ['-p', dir]);
    const count = options.sessions ?? 1;
    if (count > 1 && options.kind !== 'bird') throw new Error(`${name}: only BIRD runs several sessions`);
    const link = sessionAddresses(index, 0);
    const transport = options.transport ?? 'ipv4';
    const sessions = Array.from({ length: count }, (_, s) => sessionAddresses(index, s)[transport]);
    const peer: RunningPeer = {
      name,
      options,
      address: link[transport].peer,
      ourAddress: link[transport].us,
      link,
      sessions,
      ourIfname: `v${index - 1}`,
      routerId: `10.251.${index}.2`,
      dir,
    };
    this.#peers.set(name, peer);
    switch (options.kind) {
      case 'frr':
        return this.#startFrr(peer);
      case 'bird':
        return this.#startBird(peer);
      case 'gobgp':
        return this.#startGobgp(peer);
      case 'exabgp':
        return this.#startExabgp(peer);
    }
  }

  async #startFrr(p: RunningPeer): Promise<void> {
    const o = p.options;
    const n = p.ourAddress;
    const lines = [
      'hostname peer',
      'log file bgpd.log',
      `router bgp ${o.as}`,
      ` bgp router-id ${p.routerId}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ...(o.gracefulRestart ? [' bgp graceful-restart'] : []),
      ` neighbor ${n} remote-as ${o.ourAs}`,
      ` neighbor ${n} timers connect 1`,
      ...(o.holdTime !== undefined
        ? [` neighbor ${n} timers ${Math.max(1, Math.floor(o.holdTime / 3))} ${o.holdTime}`]
        : []),
      ...(o.passive ? [` neighbor ${n} passive`] : []),
      ...(o.password !== undefined ? [` neighbor ${n} password ${o.password}`] : []),
      ...(['ipv4', 'ipv6'] as const).flatMap((family) => [
        ` address-family ${family} unicast`,
        // FRR activates IPv4 unicast on every neighbor by default and IPv6 on none: say both.
        `  ${familiesOf(o).includes(family) ? '' : 'no '}neighbor ${n} activate`,
        ...announced(o, family).map((pfx) => `  network ${pfx}`),
        ...(o.routeReflectorClient ? [`  neighbor ${n} route-reflector-client`] : []),
        ' exit-address-family',
      ]),
      'exit',
    ];
    writeFileSync(join(p.dir, 'zebra.conf'), 'hostname peer\n');
    writeFileSync(join(p.dir, 'bgpd.conf'), `${lines.join('\n')}\n`);
    // The daemons drop to user frr and create their vty sockets in the directory.
    const uid = Number(execFileSync('id', ['-u', 'frr']).toString());
    const gid = Number(execFileSync('id', ['-g', 'frr']).toString());
    for (const f of ['', 'zebra.conf', 'bgpd.conf']) chownSync(join(p.dir, f), uid, gid);
    // -z/--vty_socket/-i keep sockets and pid files private; -A 127.0.0.1 -P 0 disables the TCP vty.
    const common = [
      '-d',
      '-z',
      join(p.dir, 'zserv.api'),
      '--vty_socket',
      p.dir,
      '-A',
      '127.0.0.1',
      '-P',
      '0',
    ];
    // zebra first: bgpd connects to its zserv socket.
    for (const [daemon, ready] of [
      ['zebra', 'zserv.api'],
      ['bgpd', 'bgpd.vty'],
    ] as const) {
      await this.#spawn(p, daemon, `/usr/lib/frr/${daemon}`, [
        ...common,
        '-f',
        join(p.dir, `${daemon}.conf`),
        '-i',
        join(p.dir, `${daemon}.pid`),
        '--log',
        `file:${join(p.dir, `${daemon}.log`)}`,
      ]);
      // -d: the process we spawned exits once it has forked; only the socket tells readiness.
      await waitFor(`${daemon} socket`, 10_000, async () =>
        (await socketAccepts(join(p.dir, ready))) ? true : undefined,
      );
    }
  }

  async #startBird(p: RunningPeer): Promise<void> {
    const o = p.options;
    const conf = [
      `router id ${p.routerId};`,
      `log "${join(p.dir, 'bird.log')}" all;`,
      'protocol device { }',
      // Connected routes resolve iBGP next hops (BIRD resolves them recursively); never exported.
      'protocol direct { ipv4; ipv6; }',
      ...(['ipv4', 'ipv6'] as const).flatMap((family) => {
        const routes = announced(o, family);
        if (routes.length === 0) return [];
        return [
          `protocol static announced_${family} { ${family}; ${routes.map((x) => `route ${x} blackhole;`).join(' ')} }`,
        ];
      }),
      ...p.sessions.flatMap((session, s) => [
        `protocol bgp trellis${s === 0 ? '' : s} {`,
        `  local ${session.peer} as ${o.as};`,
        `  neighbor ${session.us} as ${o.ourAs};`,
        '  connect retry time 1;',
        '  error wait time 1, 2;',
        ...(o.passive ? ['  passive on;'] : []),
        ...(o.password !== undefined ? [`  password "${o.password}";`] : []),
        ...(o.holdTime !== undefined ? [`  hold time ${o.holdTime};`] : []),
        ...(o.gracefulRestart ? ['  graceful restart on;'] : []),
        ...(o.routeReflectorClient ? ['  rr client;'] : []),
        ...(o.clusterId !== undefined ? [`  rr cluster id ${o.clusterId};`] : []),
        ...familiesOf(o).map((family) => `  ${family} { import all; export where source != RTS_DEVICE; };`),
        '}',
      ]),
    ];
    writeFileSync(join(p.dir, 'bird.conf'), `${conf.join('\n')}\n`);
    // -f: in the foreground, so the lab owns (and reaps) it; -s/-P keep the socket and pid file private.
    const proc = await this.#spawn(p, 'bird', 'bird', [
      '-f',
      '-c',
      join(p.dir, 'bird.conf'),
      '-s',
      join(p.dir, 'bird.ctl'),
      '-P',
      join(p.dir, 'bird.pid'),
    ]);
    await waitForListener(proc, join(p.dir, 'bird.ctl'), {
      what: `bird of ${p.name}`,
      timeoutMs: 10_000,
      logFile: join(p.dir, 'bird.out'),
    });
  }

  async #startGobgp(p: RunningPeer): Promise<void> {
    const o = p.options;
    const toml = [
      '[global.config]',
      `  as = ${o.as}`,
      `  router-id = "${p.routerId}"`,
      `  local-address-list = ["${p.link.ipv4.peer}", "${p.link.ipv6.peer}"]`,
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${p.ourAddress}"`,
      `    peer-as = ${o.ourAs}`,
      ...(o.password !== undefined ? [`    auth-password = "${o.password}"`] : []),
      '  [neighbors.timers.config]',
      '    connect-retry = 1',
      ...(o.holdTime !== undefined
        ? [
            `    hold-time = ${o.holdTime}`,
            `    keepalive-interval = ${Math.max(1, Math.floor(o.holdTime / 3))}`,
          ]
        : []),
      ...(o.passive ? ['  [neighbors.transport.config]', '    passive-mode = true'] : []),
      ...(o.routeReflectorClient
        ? [
            '  [neighbors.route-reflector.config]',
            '    route-reflector-client = true',
            `    route-reflector-cluster-id = "${p.routerId}"`,
          ]
        : []),
      ...(o.gracefulRestart
        ? ['  [neighbors.graceful-restart.config]', '    enabled = true', '    restart-time = 120']
        : []),
      ...familiesOf(o).flatMap((family) => [
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = "${family}-unicast"`,
        ...(o.gracefulRestart
          ? ['    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true']
          : []),
      ]),
    ];
    writeFileSync(join(p.dir, 'gobgpd.toml'), `${toml.join('\n')}\n`);
    await this.#spawn(p, 'gobgpd', 'gobgpd', [
      '-f',
      join(p.dir, 'gobgpd.toml'),
      '--api-hosts',
      `unix://${join(p.dir, 'gobgp.sock')}`,
      '--pprof-disable',
      '-p',
    ]);
    await waitFor('gobgpd api', 10_000, () => (this.gobgp(p.name, ['global']) ? true : undefined));
    for (const pfx of o.announce ?? [])
      this.gobgp(p.name, ['global', 'rib', 'add', '-a', familyOf(pfx), pfx]);
  }

  async #startExabgp(p: RunningPeer): Promise<void> {
    const o = p.options;
    const logger = join(p.dir, 'logger.py');
    writeFileSync(
      logger,
      [
        '#!/usr/bin/python3',
        '# ExaBGP writes one JSON object per line to our stdin; its pipe is non-blocking.',
        'import os, sys',
        'os.set_blocking(0, True)',
        `with open("${join(p.dir, 'events.jsonl')}", "a", buffering=1) as out:`,
        '    for line in sys.stdin:',
        '        out.write(line)',
        '',
      ].join('\n'),
    );
    chmodSync(logger, 0o755);
    const conf = [
      'process logger {',
      `    run ${logger};`,
      '    encoder json;',
      '}',
      `neighbor ${p.ourAddress} {`,
      `    router-id ${p.routerId};`,
      `    local-address ${p.address};`,
      `    local-as ${o.as};`,
      `    peer-as ${o.ourAs};`,
      ...(o.passive ? ['    passive;'] : []),
      ...(o.password !== undefined ? [`    md5-password "${o.password}";`] : []),
      ...(o.holdTime !== undefined ? [`    hold-time ${o.holdTime};`] : []),
      '    family { ipv4 unicast; }',
      '    api { processes [ logger ]; neighbor-changes; receive { parsed; update; notification; } }',
      '}',
    ];
    writeFileSync(join(p.dir, 'exabgp.conf'), `${conf.join('\n')}\n`);
    await this.#spawn(p, 'exabgp', 'exabgp', [join(p.dir, 'exabgp.conf')], {
      exabgp_tcp_bind: p.address,
      exabgp_tcp_port: '179',
      exabgp_api_cli: 'false',
      exabgp_daemon_user: 'root',
      exabgp_daemon_drop: 'false',
      exabgp_reactor_speed: '0.1',
      exabgp_log_destination: join(p.dir, 'exabgp.log'),
    });
  }

  /**
   * Every daemon runs in the foreground under Lab.spawn (FRR without -d, BIRD with -f): the lab
   * then tracks, kills and reaps it, and nothing is left to PID 1 to reap late.
   */
  async #spawn(
    p: RunningPeer,
    role: string,
    cmd: string,
    args: readonly string[],
    env?: Record<string, string>,
  ): Promise<LabProcess> {
    const proc = await this.lab.spawn(p.name, cmd, args, {
      logFile: join(p.dir, `${role}.out`),
      ...(env && { env }),
    });
    this.#processes.push(proc);
    if (role !== 'zebra') this.#bgpProcess.set(p.name, proc);
    return proc;
  }

  /** One vtysh command, or several (one `-c` each, e.g. into configure mode). */
  vtysh(name: string, ...commands: string[]): string {
    const p = this.peer(name);
    return execFileSync('vtysh', ['--vty_socket', p.dir, ...commands.flatMap((c) => ['-c', c])], {
      encoding: 'utf8',
    });
  }

  /** The daemon withdraws every prefix of `family` it was started announcing. */
  withdrawAnnounced(name: string, family: Family): void {
    const p = this.peer(name);
    const prefixes = announced(p.options, family);
    switch (p.options.kind) {
      case 'frr':
        this.vtysh(
          name,
          'configure terminal',
          `router bgp ${p.options.as}`,
          `address-family ${family} unicast`,
          ...prefixes.map((x) => `no network ${x}`),
        );
        return;
      case 'bird':
        this.birdc(name, `disable announced_${family}`);
        return;
      case 'gobgp':
        for (const x of prefixes) this.gobgp(name, ['global', 'rib', 'del', '-a', family, x]);
        return;
      case 'exabgp':
        throw new Error('the ExaBGP peer announces nothing');
    }
  }

  birdc(name: string, command: string): string {
    const p = this.peer(name);
    return execFileSync('birdc', ['-s', join(p.dir, 'bird.ctl'), ...command.split(' ')], {
      encoding: 'utf8',
    });
  }

  gobgp(name: string, args: readonly string[]): string {
    const p = this.peer(name);
    return execFileSync('gobgp', ['--target', `unix://${join(p.dir, 'gobgp.sock')}`, ...args], {
      encoding: 'utf8',
    });
  }

  /** ExaBGP's API events (neighbor state, updates, notifications), one object per line. */
  exabgpEvents(name: string): Record<string, unknown>[] {
    const file = join(this.peer(name).dir, 'events.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** The daemon's view of its session with us: 'Established', 'Active', 'Idle'... */
  peerState(name: string): string {
    const p = this.peer(name);
    switch (p.options.kind) {
      case 'frr':
        return String(this.frrNeighbor(name).bgpState);
      case 'bird': {
        const m = /BGP state:\s+(\S+)/.exec(this.birdc(name, 'show protocols all trellis'));
        return m?.[1] ?? 'unknown';
      }
      case 'gobgp': {
        const j = JSON.parse(this.gobgp(name, ['neighbor', p.ourAddress, '-j'])) as {
          state?: { session_state?: number };
        };
        // gobgp's enum: 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established.
        return (
          ['unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'][
            j.state?.session_state ?? 0
          ] ?? 'unknown'
        );
      }
      case 'exabgp': {
        const states = this.exabgpEvents(name).filter((e) => e.type === 'state');
        const last = states.at(-1) as { neighbor?: { state?: string } } | undefined;
        return last?.neighbor?.state === 'up' ? 'Established' : (last?.neighbor?.state ?? 'unknown');
      }
    }
  }

  frrNeighbor(name: string): Record<string, unknown> {
    const p = this.peer(name);
    const all = JSON.parse(this.vtysh(name, `show bgp neighbors ${p.ourAddress} json`)) as Record<
      string,
      Record<string, unknown>
    >;
    const n = all[p.ourAddress];
    if (n === undefined) throw new Error(`FRR has no neighbor ${p.ourAddress}`);
    return n;
  }

  /** SIGSTOP the peer's BGP process; `thaw` (also done by teardown) resumes it. */
  freeze(name: string): void {
    process.kill(this.#bgp(name).pid, 'SIGSTOP');
  }

  thaw(name: string): void {
    process.kill(this.#bgp(name).pid, 'SIGCONT');
  }

  /** bgpd forks once after start, so its pid file names the process that speaks BGP. */
  #bgp(name: string): { pid: number } {
    const pidFile = join(this.peer(name).dir, 'bgpd.pid');
    if (existsSync(pidFile)) return { pid: Number(readFileSync(pidFile, 'utf8').trim()) };
    const proc = this.#bgpProcess.get(name);
    if (proc === undefined) throw new Error(`no BGP process for ${name}`);
    return proc;
  }

  /** Resumes frozen daemons, then the lab stops them all (SIGTERM, SIGKILL) and removes the temp dir. */
  async teardown(): Promise<void> {
    if (this.#torn) return;
    this.#torn = true;
    for (const p of this.#peers.values()) {
      try {
        this.thaw(p.name);
      } catch {
        // not started or already gone
      }
    }
    await this.lab.teardown();
    await Promise.all(this.#processes.map((p) => p.exited));
    // FRR's daemons still fork once (the pid in their pid file is not the one we spawned), and
    // PID 1 reaps that child late: wait until it is gone so nothing outlives the teardown.
    const forked = this.#processes.flatMap((p) => pidsFromFiles(this.dir, p.pid));
    await waitFor('daemons reaped', 10_000, () =>
      forked.some((pid) => existsSync(`/proc/${pid}`)) ? undefined : true,
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Pids recorded in the daemons' pid files under dir, other than the one we spawned. */
function pidsFromFiles(dir: string, spawned: number): number[] {
  const out: number[] = [];
  for (const sub of readdirSync(dir)) {
    for (const file of ['zebra.pid', 'bgpd.pid', 'bird.pid']) {
      const path = join(dir, sub, file);
      if (!existsSync(path)) continue;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== spawned) out.push(pid);
    }
  }
  return out;
}

/** How a daemon holds a route: chosen and usable, its next hops, whether our test communities survived. */
export interface HeldRoute {
  readonly best: boolean;
  readonly nextHops: readonly string[];
  readonly communities: boolean;
  readonly largeCommunities: boolean;
  /** Kept from a session that went down (graceful restart, RFC 4724 4.2). */
  readonly stale: boolean;
}

/** `prefix` (either family) in the daemon's BGP table, or undefined when it has none. */
export function heldRoute(lab: InteropLab, name: string, prefix: string): HeldRoute | undefined {
  const family = familyOf(prefix);
  switch (lab.peer(name).options.kind) {
    case 'frr': {
      const j = JSON.parse(lab.vtysh(name, `show bgp ${family} unicast ${prefix} json`)) as {
        paths?: {
          valid?: boolean;
          bestpath?: { overall?: boolean };
          nexthops?: { ip: string; accessible?: boolean }[];
          community?: { string: string };
          largeCommunity?: { string: string };
          stale?: boolean;
        }[];
      };
      const p = j.paths?.[0];
      if (p === undefined) return undefined;
      return {
        best: p.valid === true && p.bestpath?.overall === true,
        nextHops: (p.nexthops ?? []).filter((h) => h.accessible === true).map((h) => h.ip),
        communities: p.community?.string === '65001:100',
        largeCommunities: p.largeCommunity?.string === '65001:1:2',
        stale: p.stale === true,
      };
    }
    case 'bird': {
      const text = birdRoute(lab, name, prefix);
      if (text === undefined) return undefined;
      // `10.80.0.0/24  unicast [trellis ...] * (100)`: '*' is BIRD's best path, 'unicast' a usable one.
      const head = new RegExp(`${prefix.replace(/[.:/]/g, '\\$&')}\\s+unicast \\[trellis [^\\]]*\\] \\*`);
      return {
        best: head.test(text),
        nextHops: [...(/BGP\.next_hop:\s*([^\n]+)/.exec(text)?.[1]?.trim().split(/\s+/) ?? [])],
        communities: /BGP\.community:\s*\(65001,100\)/.test(text),
        largeCommunities: /BGP\.large_community:\s*\(65001, 1, 2\)/.test(text),
        // BIRD 2.0 does not print its stale flag; it keeps a down session's routes only under GR.
        stale: lab.peerState(name) !== 'Established',
      };
    }
    case 'gobgp': {
      const j = JSON.parse(lab.gobgp(name, ['global', 'rib', '-a', family, prefix, '-j'])) as Record<
        string,
        {
          best?: boolean;
          stale?: boolean;
          attrs?: { type: number; nexthop?: string; communities?: number[]; value?: unknown[] }[];
        }[]
      >;
      const p = j[prefix]?.[0];
      if (p === undefined) return undefined;
      const attrs = p.attrs ?? [];
      // NEXT_HOP (3) for IPv4, MP_REACH_NLRI (14) for IPv6.
      const hop = attrs.find((a) => a.type === (family === 'ipv4' ? 3 : 14));
      return {
        best: p.best === true,
        // GoBGP 3.10's JSON shows only the global part of a 32-octet next hop.
        nextHops: hop?.nexthop === undefined ? [] : [hop.nexthop],
        communities: attrs.some((a) => a.type === 8 && a.communities?.includes(65001 * 65536 + 100)),
        largeCommunities: attrs.some((a) => a.type === 32 && JSON.stringify(a.value).includes('65001')),
        stale: p.stale === true,
      };
    }
    case 'exabgp':
      throw new Error('ExaBGP keeps no table: read exabgpEvents');
  }
}

/** `show route PREFIX all`, or undefined when BIRD has no such network (birdc then exits non-zero). */
export function birdRoute(lab: InteropLab, name: string, prefix: string): string | undefined {
  try {
    return lab.birdc(name, `show route ${prefix} all`);
  } catch (err) {
    if (/Network not found/.test(String((err as { stdout?: unknown }).stdout))) return undefined;
    throw err;
  }
}

/** The kernel's link-local address on an interface of a namespace. */
export async function linkLocalOf(lab: InteropLab, ns: string, ifname: string): Promise<string> {
  const out = (await lab.lab.exec(ns, 'ip', ['-6', '-o', 'addr', 'show', 'dev', ifname, 'scope', 'link']))
    .stdout;
  const m = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(out);
  if (m === null) throw new Error(`no link-local on ${ns}/${ifname}: ${out}`);
  return m[1]!;
}
