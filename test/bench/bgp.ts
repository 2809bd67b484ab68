// BGP benchmark (issue #4), all on one set of namespaces (test/bench/bgp-lab.ts):
// - send: Trellis, BIRD and GoBGP in turn, each holding the same 100,000 /32s, wait passively;
//   FRR bgpd (no zebra) enables its neighbour and dials; time until FRR's summary shows
//   pfxRcd 100,000 (polled back to back, at least 50 ms apart);
// - learn: a BIRD feeder starts and dials Trellis (kernel sync on) or a BIRD with a
//   kernel protocol; time until the learner's FIB holds 100,000 more prefixes; beside it
//   `ip -batch` and one netlink batch adding the same routes into a fresh namespace;
// - VmRSS and VmHWM of each speaker process while it holds the table, and the CPU time
//   (utime + stime) each used during the measured interval.
// TRELLIS_BENCH_REPEAT=N repeats everything and reports medians; TRELLIS_BENCH_CPU_PROF=DIR runs
// our speaker under `node --cpu-prof` and leaves the profiles there; TRELLIS_BENCH_BGP=learn
// measures only the learn part (a round then takes ~15 s instead of ~50).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isRoot } from '../../src/lab/index.js';
import { type RouteBatchOp, RouteNetlink } from '../../src/netlink/index.js';
import {
  BgpBenchLab,
  benchPrefixes,
  bgpConnected,
  cpuMsOf,
  type Daemon,
  fibPrefixes,
  LEARNER_AS,
  LINKS,
  type Memory,
  memoryOf,
  RECEIVER_AS,
  SENDER_AS,
} from './bgp-lab.js';
import type { BenchSection, BenchTable } from './section.js';

const run = promisify(execFile);

const ROUTES = 100_000;
const FRR_POLL_MS = 50;
const FIB_POLL_MS = 20;
/** The kernel floor's nexthop object (in the floor's own namespace). */
const FLOOR_NEXTHOP_ID = 100;
const CONVERGE_TIMEOUT_MS = 120_000;
/** 99% of ROUTES: see LearnRun.mostMs. */
const MOST_ROUTES = ROUTES * 0.99;

export const bgpSection: BenchSection = { name: 'bgp', run: runBgpBench };

type Sender = 'trellis' | 'bird' | 'gobgp';
const SENDERS: readonly Sender[] = ['trellis', 'bird', 'gobgp'];
type Learner = 'trellis' | 'bird';
const LEARN_LINK = { trellis: 'learnTrellis', bird: 'learnBird' } as const;

interface SendRun {
  /** Process start until it holds the table (config parse; GoBGP: `mrt inject` too). */
  readonly readyMs: number;
  readonly establishedMs: number;
  readonly allMs: number;
  /** CPU the sender used from enable until FRR held all, and FRR's bgpd in that time. */
  readonly cpuMs: number;
  readonly receiverCpuMs: number;
  readonly memory: Memory;
}

interface LearnRun {
  /** Feeder start until its TCP connection to the learner is up. */
  readonly connectedMs: number;
  /**
   * Until 99% of the table is in the FIB. BIRD's feeder often holds back its last partial chunk
   * (the last 160 routes) for 2-3 s; this row shows the learner's own pace either way.
   */
  readonly mostMs: number;
  readonly allMs: number;
  /** CPU the learner used from the feeder's start until its FIB held all. */
  readonly cpuMs: number;
  /** VmRSS before the session came up. */
  readonly idleRss: number;
  readonly memory: Memory;
}

interface Round {
  /** Undefined when only the learn part was measured. */
  readonly send: Readonly<Record<Sender, SendRun>> | undefined;
  readonly learn: Readonly<Record<Learner, LearnRun>>;
  readonly ipBatchMs: number;
  readonly netlinkMs: number;
  readonly netlinkObjectMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Milliseconds from `since` until `probe` holds, probing back to back but at most every
 * `intervalMs`; the time taken is when the probe that saw it returned.
 */
async function elapsedUntil(
  what: string,
  since: number,
  intervalMs: number,
  probe: () => boolean | Promise<boolean>,
): Promise<number> {
  for (;;) {
    const started = performance.now();
    if (await probe()) return performance.now() - since;
    if (performance.now() - since > CONVERGE_TIMEOUT_MS) throw new Error(`timeout waiting for ${what}`);
    await sleep(Math.max(0, intervalMs - (performance.now() - started)));
  }
}

function cpuProfArgs(role: string): string[] {
  const dir = process.env.TRELLIS_BENCH_CPU_PROF;
  return dir === undefined
    ? []
    : ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${role}.cpuprofile`];
}

async function startSender(bench: BgpBenchLab, sender: Sender, prefixes: readonly string[]): Promise<Daemon> {
  const routerId = LINKS.send.near;
  switch (sender) {
    case 'trellis':
      return bench.startTrellis({
        role: 'trellis-send',
        ns: 'snd',
        routerId,
        localAs: SENDER_AS,
        peer: { address: LINKS.send.far, as: RECEIVER_AS },
        kernel: false,
        announcements: prefixes,
        nodeArgs: cpuProfArgs('send'),
      });
    case 'bird': {
      const bird = await bench.startBird({
        role: 'bird-send',
        ns: 'snd',
        routerId,
        localAs: SENDER_AS,
        sessions: [{ name: 'to_frr', link: 'send', peerAs: RECEIVER_AS }],
        passive: true,
        statics: prefixes,
      });
      await elapsedUntil(
        'BIRD holding the table',
        0,
        FRR_POLL_MS,
        async () => (await bench.birdRoutes(bird)) >= ROUTES,
      );
      return bird;
    }
    case 'gobgp':
      return bench.startGobgpSender(prefixes);
  }
}

async function measureSend(
  bench: BgpBenchLab,
  sender: Sender,
  prefixes: readonly string[],
): Promise<SendRun> {
  const frr = await bench.startFrrReceiver();
  try {
    const start = performance.now();
    const daemon = await startSender(bench, sender, prefixes);
    try {
      const readyMs = performance.now() - start;
      const cpuBefore = cpuMsOf(daemon.proc.pid);
      const receiverBefore = cpuMsOf(frr.proc.pid);
      const enabled = performance.now();
      await bench.frrEnable(frr);
      let establishedMs: number | undefined;
      const allMs = await elapsedUntil(`FRR holding ${sender}'s table`, enabled, FRR_POLL_MS, async () => {
        const peer = await bench.frrPeer(frr);
        if (establishedMs === undefined && peer.state === 'Established')
          establishedMs = performance.now() - enabled;
        return peer.pfxRcd >= ROUTES;
      });
      return {
        readyMs,
        establishedMs: establishedMs ?? allMs,
        allMs,
        cpuMs: cpuMsOf(daemon.proc.pid) - cpuBefore,
        receiverCpuMs: cpuMsOf(frr.proc.pid) - receiverBefore,
        memory: memoryOf(daemon.proc.pid),
      };
    } finally {
      await bench.stop(daemon);
    }
  } finally {
    await bench.stop(frr);
  }
}

/**
 * BIRD in 'snd' with the table and one session, to this learner, that it dials at once. Started
 * fresh per learner: a session enabled later with `birdc enable` gets the last partial chunk of
 * BIRD's 256-route table feed (the 160 of 100,000) about 2 s late, in both learners alike.
 */
function startFeeder(bench: BgpBenchLab, learner: Learner, prefixes: readonly string[]): Promise<Daemon> {
  return bench.startBird({
    role: 'bird-feed',
    ns: 'snd',
    routerId: LINKS.send.near,
    localAs: SENDER_AS,
    sessions: [{ name: 'learner', link: LEARN_LINK[learner], peerAs: LEARNER_AS }],
    passive: false,
    statics: prefixes,
  });
}

function startLearner(bench: BgpBenchLab, learner: Learner): Promise<Daemon> {
  const link = LINKS[LEARN_LINK[learner]];
  if (learner === 'trellis') {
    return bench.startTrellis({
      role: 'trellis-learn',
      ns: link.ns,
      routerId: link.far,
      localAs: LEARNER_AS,
      peer: { address: link.near, as: SENDER_AS },
      kernel: true,
      announcements: [],
      nodeArgs: cpuProfArgs('learn'),
    });
  }
  return bench.startBird({
    role: 'bird-learn',
    ns: link.ns,
    routerId: link.far,
    localAs: LEARNER_AS,
    sessions: [{ name: 'feeder', link: 'learnBird', peerAs: SENDER_AS }],
    passive: true,
    kernel: true,
  });
}

async function measureLearn(
  bench: BgpBenchLab,
  learner: Learner,
  prefixes: readonly string[],
): Promise<LearnRun> {
  const daemon = await startLearner(bench, learner);
  try {
    const before = fibPrefixes(daemon.proc.pid);
    const idleRss = memoryOf(daemon.proc.pid).rss;
    const cpuBefore = cpuMsOf(daemon.proc.pid);
    const started = performance.now();
    const feeder = await startFeeder(bench, learner, prefixes);
    try {
      const connectedMs = await elapsedUntil('the feeder connected', started, FIB_POLL_MS, () =>
        bgpConnected(daemon.proc.pid),
      );
      const mostMs = await elapsedUntil(
        `${learner}'s FIB holding 99% of the table`,
        started,
        FIB_POLL_MS,
        () => fibPrefixes(daemon.proc.pid) >= before + MOST_ROUTES,
      );
      const allMs = await elapsedUntil(
        `${learner}'s FIB holding the table`,
        started,
        FIB_POLL_MS,
        () => fibPrefixes(daemon.proc.pid) >= before + ROUTES,
      );
      const cpuMs = cpuMsOf(daemon.proc.pid) - cpuBefore;
      return { connectedMs, mostMs, allMs, cpuMs, idleRss, memory: memoryOf(daemon.proc.pid) };
    } finally {
      await bench.stop(feeder);
    }
  } finally {
    await bench.stop(daemon);
  }
}

/**
 * The kernel's share: the table added into 'ipb' (nothing but its link) by `ip -batch`, the way
 * a speaker shelling out would, and by one RouteNetlink.applyRouteBatch, the floor for any
 * speaker that talks netlink itself: with each route naming its gateway, and naming one
 * nexthop object (what our kernel sync does for a connected gateway).
 */
async function measureKernelFloors(
  bench: BgpBenchLab,
  prefixes: readonly string[],
): Promise<{ ipBatchMs: number; netlinkMs: number; netlinkObjectMs: number }> {
  const gateway = LINKS.ipBatch.near;
  const file = join(bench.dir, 'routes.batch');
  writeFileSync(file, prefixes.map((p) => `route add ${p} via ${gateway} proto 46 metric 20\n`).join(''));
  const ns = bench.lab.nsName(LINKS.ipBatch.ns);
  const flush = () => run('ip', ['-n', ns, 'route', 'flush', 'proto', '46']);
  const start = performance.now();
  await run('ip', ['-n', ns, '-batch', file]);
  const ipBatchMs = performance.now() - start;
  await flush();
  const routes = RouteNetlink.open({ netnsPath: `/run/netns/${ns}` });
  try {
    const timed = (ops: RouteBatchOp[]): number => {
      const at = performance.now();
      const result = routes.applyRouteBatch(ops);
      const took = performance.now() - at;
      if (result.failed.length > 0) throw new Error(`kernel refused ${result.failed.length} routes`);
      return took;
    };
    const place = { family: 4 as const, protocol: 46, metric: 20 };
    const netlinkMs = timed(prefixes.map((dst) => ({ op: 'replace', route: { ...place, dst, gateway } })));
    await flush();
    const oif = routes.lookupRoute(4, gateway).oif;
    if (oif === undefined) throw new Error(`no interface for ${gateway}`);
    routes.addNextHop({ id: FLOOR_NEXTHOP_ID, family: 4, gateway, oif, protocol: 46 });
    try {
      const nhid = FLOOR_NEXTHOP_ID;
      const netlinkObjectMs = timed(
        prefixes.map((dst) => ({ op: 'replace', route: { ...place, dst, nhid } })),
      );
      return { ipBatchMs, netlinkMs, netlinkObjectMs };
    } finally {
      routes.deleteNextHop(FLOOR_NEXTHOP_ID); // and the routes naming it
    }
  } finally {
    routes.close();
    await flush();
  }
}

async function measureRound(
  bench: BgpBenchLab,
  prefixes: readonly string[],
  learnOnly: boolean,
): Promise<Round> {
  let send: Record<Sender, SendRun> | undefined;
  if (!learnOnly) {
    send = {} as Record<Sender, SendRun>;
    for (const sender of SENDERS) send[sender] = await measureSend(bench, sender, prefixes);
  }
  const trellis = await measureLearn(bench, 'trellis', prefixes);
  const bird = await measureLearn(bench, 'bird', prefixes);
  return { send, learn: { trellis, bird }, ...(await measureKernelFloors(bench, prefixes)) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ms = (n: number) => n.toFixed(0);
const perRound = (rounds: readonly Round[], learner: Learner) =>
  rounds.map((r) => ms(r.learn[learner].mostMs - r.learn[learner].connectedMs)).join(' ');
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const ratio = (a: number, b: number) => (a / b).toFixed(2);

export function bgpTable(rounds: readonly Round[]): BenchTable {
  const m = (pick: (r: Round) => number) => median(rounds.map(pick));
  const row = (
    label: string,
    format: (n: number) => string,
    pick: Partial<Record<Sender | 'ipBatch', (r: Round) => number>>,
  ): string[] => {
    const v = (k: Sender | 'ipBatch') => (pick[k] === undefined ? undefined : m(pick[k]));
    const [trellis, bird, gobgp, ipBatch] = [v('trellis'), v('bird'), v('gobgp'), v('ipBatch')];
    const cell = (n: number | undefined) => (n === undefined ? '-' : format(n));
    const rel = (n: number | undefined) =>
      trellis === undefined || n === undefined ? '-' : ratio(trellis, n);
    return [label, cell(trellis), cell(bird), cell(gobgp), cell(ipBatch), rel(bird), rel(gobgp)];
  };
  const send = (f: (s: SendRun) => number) =>
    Object.fromEntries(SENDERS.map((s) => [s, (r: Round) => f(r.send![s])]));
  const sendRows = (rows: () => string[][]) => (rounds.every((r) => r.send !== undefined) ? rows() : []);
  return {
    title: `BGP: ${ROUTES.toLocaleString('en')} IPv4 /32s (median of ${rounds.length})`,
    columns: ['measure', 'Trellis', 'BIRD', 'GoBGP', 'kernel only', 'T/BIRD', 'T/GoBGP'],
    rows: [
      ...sendRows(() => [
        row(
          'send: enable -> FRR holds all (ms)',
          ms,
          send((s) => s.allMs),
        ),
        row(
          '  of which enable -> Established (ms)',
          ms,
          send((s) => s.establishedMs),
        ),
        row(
          '  Established -> FRR holds all (ms)',
          ms,
          send((s) => s.allMs - s.establishedMs),
        ),
        row(
          '  sender CPU in that time (ms)',
          ms,
          send((s) => s.cpuMs),
        ),
        row(
          '  FRR bgpd CPU in that time (ms)',
          ms,
          send((s) => s.receiverCpuMs),
        ),
        row(
          'sender VmRSS holding the table (MiB)',
          mib,
          send((s) => s.memory.rss),
        ),
        row(
          'sender VmHWM (MiB)',
          mib,
          send((s) => s.memory.hwm),
        ),
        row(
          'sender start -> holding the table (ms)',
          ms,
          send((s) => s.readyMs),
        ),
      ]),
      row('learn from BIRD: feeder start -> all in FIB (ms)', ms, {
        trellis: (r) => r.learn.trellis.allMs,
        bird: (r) => r.learn.bird.allMs,
      }),
      row('  of which feeder start -> TCP connected (ms)', ms, {
        trellis: (r) => r.learn.trellis.connectedMs,
        bird: (r) => r.learn.bird.connectedMs,
      }),
      row('  connected -> all in FIB (ms)', ms, {
        trellis: (r) => r.learn.trellis.allMs - r.learn.trellis.connectedMs,
        bird: (r) => r.learn.bird.allMs - r.learn.bird.connectedMs,
        ipBatch: (r) => r.ipBatchMs,
      }),
      row('  connected -> 99% in FIB (ms)', ms, {
        trellis: (r) => r.learn.trellis.mostMs - r.learn.trellis.connectedMs,
        bird: (r) => r.learn.bird.mostMs - r.learn.bird.connectedMs,
      }),
      row('  kernel floor: one netlink batch (ms)', ms, { ipBatch: (r) => r.netlinkMs }),
      row('    same, routes naming a nexthop object (ms)', ms, { ipBatch: (r) => r.netlinkObjectMs }),
      row('  learner CPU in that time (ms)', ms, {
        trellis: (r) => r.learn.trellis.cpuMs,
        bird: (r) => r.learn.bird.cpuMs,
      }),
      row('learner VmRSS before the session (MiB)', mib, {
        trellis: (r) => r.learn.trellis.idleRss,
        bird: (r) => r.learn.bird.idleRss,
      }),
      row('learner VmRSS holding the table (MiB)', mib, {
        trellis: (r) => r.learn.trellis.memory.rss,
        bird: (r) => r.learn.bird.memory.rss,
      }),
      row('learner VmHWM (MiB)', mib, {
        trellis: (r) => r.learn.trellis.memory.hwm,
        bird: (r) => r.learn.bird.memory.hwm,
      }),
    ],
    notes: [
      'send: the sender waits passively holding the table; FRR 8.4 bgpd -Z (no zebra, no kernel)',
      `  enables its neighbour and dials; its summary json is polled every >= ${FRR_POLL_MS} ms.`,
      'learn: BIRD 2 (static table) starts and dials at once; the learner is Trellis (kernel sync,',
      '  proto 46, nexthop objects) or BIRD (kernel protocol, export all); FIB prefixes polled',
      `  every ${FIB_POLL_MS} ms from /proc/PID/net/fib_triestat. Kernel only: the same routes into`,
      '  a namespace holding none, by ip -batch and (floor rows) by one RouteNetlink.applyRouteBatch,',
      '  the routes naming their gateway, then one nexthop object (as Trellis kernel sync does).',
      'CPU: utime+stime from /proc/PID/stat (10 ms ticks); on a shared VM it moves far less than',
      '  wall time. GoBGP sender start includes `gobgp mrt inject` of the table.',
      'Target (issue #4): Trellis within 1.5x of BIRD and ahead of GoBGP.',
      // The medians hide how far rounds spread on a shared VM; the learn row's rounds, in order:
      `connected -> 99% in FIB per round (ms): Trellis ${perRound(rounds, 'trellis')}; BIRD ${perRound(rounds, 'bird')}`,
    ],
  };
}

async function runBgpBench(): Promise<BenchTable[]> {
  if (!isRoot()) throw new Error('the bgp benchmark needs root (network namespaces)');
  const repeat = Number(process.env.TRELLIS_BENCH_REPEAT ?? '1');
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`TRELLIS_BENCH_REPEAT must be >= 1`);
  const parts = process.env.TRELLIS_BENCH_BGP ?? 'all';
  if (parts !== 'all' && parts !== 'learn') throw new RangeError(`TRELLIS_BENCH_BGP must be all or learn`);
  const prefixes = benchPrefixes(ROUTES);
  const bench = await BgpBenchLab.create();
  try {
    const rounds: Round[] = [];
    for (let i = 0; i < repeat; i++) rounds.push(await measureRound(bench, prefixes, parts === 'learn'));
    return [bgpTable(rounds)];
  } finally {
    await bench.teardown();
  }
}
