// The namespaces and daemons of the `bgp` benchmark. Its own small harness rather than
// test/interop/peers.ts: the senders here hold 100,000 routes, the speaker under test always
// waits passively and its counterpart dials at once (so no connect-retry timer is measured),
// and the FRR receiver runs bgpd alone (-Z), so it measures BGP and nothing of zebra or its kernel.
//
//   snd 10.252.1.1 ---- rcv 10.252.1.2    sender (Trellis | BIRD | GoBGP) -> FRR bgpd
//   snd 10.252.2.1 ---- lt  10.252.2.2    BIRD feeder -> Trellis, kernel sync on
//   snd 10.252.3.1 ---- lb  10.252.3.2    BIRD feeder -> BIRD, kernel protocol exports all
//   snd 10.252.4.1 ---- ipb 10.252.4.2    `ip -batch` of the same routes into ipb

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Lab, type LabProcess } from '../../src/lab/index.js';
import { mrtTableDump } from './bgp-mrt.js';

const run = promisify(execFile);

export const SENDER_AS = 65001;
export const RECEIVER_AS = 65000;
export const LEARNER_AS = 65002;
const MRT_INJECT_PADDING = 5_000;

/** One veth per measurement, all from 'snd'; `far` is the learner's or receiver's address. */
export const LINKS = {
  send: { ns: 'rcv', near: '10.252.1.1', far: '10.252.1.2' },
  learnTrellis: { ns: 'lt', near: '10.252.2.1', far: '10.252.2.2' },
  learnBird: { ns: 'lb', near: '10.252.3.1', far: '10.252.3.2' },
  ipBatch: { ns: 'ipb', near: '10.252.4.1', far: '10.252.4.2' },
} as const;

export type LinkName = keyof typeof LINKS;

/** `count` distinct /32s from 10.100.0.0 up, the table every speaker sends. */
export function benchPrefixes(count: number): string[] {
  const base = (10 << 24) | (100 << 16);
  return Array.from({ length: count }, (_, i) => {
    const a = base + i;
    return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}/32`;
  });
}

export interface Daemon {
  readonly proc: LabProcess;
  readonly dir: string;
}

export interface Memory {
  /** Resident set now and its high-water mark, bytes (/proc/PID/status VmRSS, VmHWM). */
  readonly rss: number;
  readonly hwm: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time (user + system, ms) the process has used so far: unlike wall time, barely moved by
 * other work on the machine, so it compares daemons on a shared VM.
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may hold spaces): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
  return (ticks * 1000) / USER_HZ;
}

/**
 * IPv4 prefixes in the FIB of the namespace `pid` runs in (/proc/net/fib_triestat's main trie):
 * constant cost per read, unlike dumping 100,000 routes to count them.
 */
export function fibPrefixes(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const m = /^Main:[\s\S]*?Prefixes:\s+(\d+)/m.exec(stat);
  if (m === null) throw new Error(`unexpected fib_triestat of pid ${pid}`);
  return Number(m[1]);
}

/**
 * Whether the namespace `pid` runs in has an established TCP connection on port 179: read from
 * /proc, because asking a BIRD over birdc while it feeds a new session delays the last partial
 * chunk of its feed by about 2 s.
 */
export function bgpConnected(pid: number): boolean {
  // Lines: "sl local_address rem_address st ...", addresses as HEX_IP:HEX_PORT; 01 = ESTABLISHED.
  return readFileSync(`/proc/${pid}/net/tcp`, 'utf8')
    .split('\n')
    .some((line) => {
      const [, local, remote, state] = line.trim().split(/\s+/);
      return state === '01' && (local?.endsWith(':00B3') || remote?.endsWith(':00B3'));
    });
}

export interface FrrPeerSummary {
  readonly state: string;
  readonly pfxRcd: number;
}

export interface BirdSession {
  /** BIRD protocol name. */
  readonly name: string;
  readonly link: LinkName;
  readonly peerAs: number;
}

export class BgpBenchLab {
  readonly lab: Lab;
  readonly dir: string;
  #stopped = false;

  private constructor(lab: Lab, dir: string) {
    this.lab = lab;
    this.dir = dir;
  }

  static async create(): Promise<BgpBenchLab> {
    const lab = await Lab.create();
    const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-bgp-'));
    chmodSync(dir, 0o755);
    const self = new BgpBenchLab(lab, dir);
    try {
      await lab.addNamespaces(['snd', ...Object.values(LINKS).map((l) => l.ns)]);
      await Promise.all(
        Object.values(LINKS).map((l, i) =>
          lab.connect({
            a: { ns: 'snd', ifname: `eth${i}`, address: `${l.near}/24` },
            b: { ns: l.ns, ifname: 'eth0', address: `${l.far}/24` },
          }),
        ),
      );
    } catch (err) {
      await self.teardown();
      throw err;
    }
    return self;
  }

  #daemonDir(role: string): string {
    const dir = join(this.dir, role);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    return dir;
  }

  /**
   * FRR bgpd without zebra (-Z: no kernel, no nexthop tracking) in 'rcv', its neighbour
   * 'snd' configured but shut down: `frrEnable` starts the session, FRR dials.
   */
  async startFrrReceiver(): Promise<Daemon> {
    const dir = this.#daemonDir('frr');
    const peer = LINKS.send.near;
    const conf = [
      'hostname rcv',
      `router bgp ${RECEIVER_AS}`,
      ` bgp router-id ${LINKS.send.far}`,
      ' no bgp ebgp-requires-policy',
      ` neighbor ${peer} remote-as ${SENDER_AS}`,
      ` neighbor ${peer} timers connect 1`,
      ` neighbor ${peer} shutdown`,
      'exit',
    ];
    writeFileSync(join(dir, 'bgpd.conf'), `${conf.join('\n')}\n`);
    // -S: stay root (no frr user, no chown); -A/-P 0: no TCP vty; the vty socket lives in dir.
    return this.#spawn(
      { role: 'bgpd', ns: 'rcv', dir },
      '/usr/lib/frr/bgpd',
      [
        '-Z',
        '-S',
        '-f',
        join(dir, 'bgpd.conf'),
        '--vty_socket',
        dir,
        '-i',
        join(dir, 'bgpd.pid'),
        '-A',
        '127.0.0.1',
        '-P',
        '0',
        '--log',
        `file:${join(dir, 'bgpd.log')}`,
      ],
      () => existsSync(join(dir, 'bgpd.vty')),
    );
  }

  async vtysh(frr: Daemon, ...commands: string[]): Promise<string> {
    const args = ['--vty_socket', frr.dir, '-d', 'bgpd', ...commands.flatMap((c) => ['-c', c])];
    return (await run('vtysh', args, { encoding: 'utf8' })).stdout;
  }

  frrEnable(frr: Daemon): Promise<string> {
    return this.vtysh(
      frr,
      'configure terminal',
      `router bgp ${RECEIVER_AS}`,
      `no neighbor ${LINKS.send.near} shutdown`,
    );
  }

  async frrPeer(frr: Daemon): Promise<FrrPeerSummary> {
    const json = JSON.parse(await this.vtysh(frr, 'show bgp ipv4 unicast summary json')) as {
      peers?: Record<string, { state?: string; pfxRcd?: number }>;
    };
    const peer = json.peers?.[LINKS.send.near];
    return { state: peer?.state ?? 'unknown', pfxRcd: peer?.pfxRcd ?? 0 };
  }

  /**
   * BIRD in `ns`. `statics`: a static protocol holding these blackhole routes (BIRD sends them
   * with itself as next hop); `kernel`: a kernel protocol exporting every route into the FIB.
   */
  async startBird(opts: {
    readonly role: string;
    readonly ns: string;
    readonly routerId: string;
    readonly localAs: number;
    readonly sessions: readonly BirdSession[];
    readonly passive: boolean;
    readonly statics?: readonly string[];
    readonly kernel?: boolean;
  }): Promise<Daemon> {
    const dir = this.#daemonDir(opts.role);
    const conf = [
      `router id ${opts.routerId};`,
      'protocol device { }',
      ...(opts.kernel ? ['protocol kernel { ipv4 { import none; export all; }; }'] : []),
      ...(opts.statics === undefined
        ? []
        : ['protocol static announced { ipv4;', ...opts.statics.map((p) => `route ${p} blackhole;`), '}']),
      ...opts.sessions.flatMap((s) => {
        const link = LINKS[s.link];
        const [local, neighbor] = opts.ns === 'snd' ? [link.near, link.far] : [link.far, link.near];
        return [
          `protocol bgp ${s.name} {`,
          `  local ${local} as ${opts.localAs};`,
          `  neighbor ${neighbor} as ${s.peerAs};`,
          // Dial at once (the default waits 5 s after start).
          '  connect delay time 0;',
          '  connect retry time 1;',
          ...(opts.passive ? ['  passive on;'] : []),
          '  ipv4 { import all; export all; };',
          '}',
        ];
      }),
    ];
    writeFileSync(join(dir, 'bird.conf'), `${conf.join('\n')}\n`);
    const ctl = join(dir, 'bird.ctl');
    return this.#spawn(
      { role: 'bird', ns: opts.ns, dir },
      'bird',
      ['-f', '-c', join(dir, 'bird.conf'), '-s', ctl, '-P', join(dir, 'bird.pid')],
      async () =>
        existsSync(ctl) &&
        (await run('birdc', ['-s', ctl, 'show', 'status'])).stdout.includes('Daemon is up'),
    );
  }

  async birdc(bird: Daemon, ...words: string[]): Promise<string> {
    return (await run('birdc', ['-s', join(bird.dir, 'bird.ctl'), ...words], { encoding: 'utf8' })).stdout;
  }

  /** Routes in BIRD's master4 table. */
  async birdRoutes(bird: Daemon): Promise<number> {
    const out = await this.birdc(bird, 'show', 'route', 'count');
    const m = /(\d+) of \d+ routes/.exec(out);
    return m === null ? 0 : Number(m[1]);
  }

  /** gobgpd in 'snd', passive toward FRR, `prefixes` injected into its global RIB (MRT). */
  async startGobgpSender(prefixes: readonly string[]): Promise<Daemon> {
    const dir = this.#daemonDir('gobgp');
    const toml = [
      '[global.config]',
      `  as = ${SENDER_AS}`,
      `  router-id = "${LINKS.send.near}"`,
      `  local-address-list = ["${LINKS.send.near}"]`,
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${LINKS.send.far}"`,
      `    peer-as = ${RECEIVER_AS}`,
      '  [neighbors.transport.config]',
      '    passive-mode = true',
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "ipv4-unicast"',
    ];
    writeFileSync(join(dir, 'gobgpd.toml'), `${toml.join('\n')}\n`);
    const mrt = join(dir, 'table.mrt');
    // gobgp 3.10's `mrt inject` exits with up to ~1,000 paths still in its gRPC stream's flow
    // window, and those are lost: the file ends with repeats of the first prefixes to absorb that.
    const padded = [...prefixes, ...prefixes.slice(0, MRT_INJECT_PADDING)];
    writeFileSync(
      mrt,
      mrtTableDump({ routerId: LINKS.send.near, as: SENDER_AS, nextHop: LINKS.send.near, prefixes: padded }),
    );
    const sock = `unix://${join(dir, 'gobgp.sock')}`;
    const daemon = await this.#spawn(
      { role: 'gobgpd', ns: 'snd', dir },
      'gobgpd',
      ['-f', join(dir, 'gobgpd.toml'), '--api-hosts', sock, '--pprof-disable', '-p'],
      async () => (await run('gobgp', ['--target', sock, 'global'])).stdout.includes('AS'),
    );
    await this.gobgp(daemon, 'mrt', 'inject', 'global', mrt);
    // gobgpd adds the streamed paths after the CLI has returned.
    await waitUntil(
      'gobgpd holding the injected table',
      60_000,
      async () => (await this.gobgpRoutes(daemon)) >= prefixes.length,
    );
    return daemon;
  }

  async gobgp(gobgp: Daemon, ...args: string[]): Promise<string> {
    const target = `unix://${join(gobgp.dir, 'gobgp.sock')}`;
    return (await run('gobgp', ['--target', target, ...args], { encoding: 'utf8' })).stdout;
  }

  /** Destinations in GoBGP's global IPv4 RIB. */
  async gobgpRoutes(gobgp: Daemon): Promise<number> {
    const out = await this.gobgp(gobgp, 'global', 'rib', 'summary', '-a', 'ipv4');
    const m = /Destination: (\d+)/.exec(out);
    return m === null ? 0 : Number(m[1]);
  }

  /**
   * `trellis bgp run -c FILE` in `ns` as its own process (so RSS is the speaker's alone);
   * resolves once its control socket exists, i.e. the announcements are in its RIB.
   */
  async startTrellis(opts: {
    readonly role: string;
    readonly ns: string;
    readonly routerId: string;
    readonly localAs: number;
    readonly peer: { readonly address: string; readonly as: number };
    readonly kernel: boolean;
    readonly announcements: readonly string[];
    /** Extra node arguments, e.g. --cpu-prof. */
    readonly nodeArgs?: readonly string[];
  }): Promise<Daemon> {
    const dir = this.#daemonDir(opts.role);
    const controlSocket = join(dir, 'bgp.sock');
    const config = {
      routerId: opts.routerId,
      localAs: opts.localAs,
      listen: { address: opts.routerId, port: 179 },
      gracefulRestartTime: 0,
      kernel: { enabled: opts.kernel },
      controlSocket,
      peers: [{ name: 'peer', address: opts.peer.address, as: opts.peer.as, passive: true }],
      announcements: opts.announcements.map((prefix) => ({ prefix })),
    };
    // JSON is YAML: the same file `trellis bgp run` reads.
    writeFileSync(join(dir, 'bgp.yaml'), JSON.stringify(config));
    return this.#spawn(
      { role: 'trellis', ns: opts.ns, dir },
      process.execPath,
      [
        ...(opts.nodeArgs ?? []),
        join(import.meta.dirname, '../../src/cli/main.js'),
        'bgp',
        'run',
        '-c',
        join(dir, 'bgp.yaml'),
        '--log-level',
        'warn',
      ],
      () => existsSync(controlSocket),
    );
  }

  /**
   * Spawns `cmd` in `where.ns` (output to `<role>.out` in its dir) and waits until `ready`
   * holds; a daemon that exits first fails the start with its output.
   */
  async #spawn(
    where: { readonly role: string; readonly ns: string; readonly dir: string },
    cmd: string,
    args: readonly string[],
    ready: () => boolean | Promise<boolean>,
  ): Promise<Daemon> {
    const out = join(where.dir, `${where.role}.out`);
    const proc = await this.lab.spawn(where.ns, cmd, args, { logFile: out });
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    await waitUntil(`${where.role} ready`, 60_000, async () => exited || (await ready()));
    if (exited) throw new Error(`${where.role} exited: ${readFileSync(out, 'utf8')}`);
    return { proc, dir: where.dir };
  }

  async stop(daemon: Daemon): Promise<void> {
    await this.lab.stop(daemon.proc, 5_000);
  }

  /** Stops every daemon, removes the namespaces and the temp dir. Safe to call twice. */
  async teardown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.lab.teardown();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Polls `probe` every 20 ms until it returns true; errors are retried and named on timeout. */
async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timeout waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
