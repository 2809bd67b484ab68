// `trellis bgp run -c FILE`: the speaker alone in the foreground (like `gobgpd -f`).
// `trellis bgp peers|routes|kernel`: ask a running speaker over its control socket and print
// sessions, the RIB or kernel sync as a table or JSON.

import type { Command } from 'commander';
import { loadSpeakerConfig } from '../../../bgp/config/index.js';
import {
  type ControlQuery,
  controlRequest,
  type KernelStatus,
  type PeerStatus,
  type RouteStatus,
  runSpeaker,
} from '../../../bgp/speaker/index.js';
import { createLogger, parseLogLevel } from '../../log.js';
import { UsageError } from '../errors.js';
import { formatAge } from '../output.js';
import { formatTable } from '../table.js';

export const DEFAULT_BGP_SOCKET = '/run/trellis/bgp.sock';

type BgpOutput = 'table' | 'json';

function parseBgpOutput(value: string): BgpOutput {
  if (value === 'table' || value === 'json') return value;
  throw new UsageError(`unknown output format "${value}": expected table or json`);
}

const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  `${formatTable(header, rows)}\n`;

const since = (seconds: number | undefined): string =>
  seconds === undefined ? '-' : formatAge(new Date(0), new Date(seconds * 1000));

export function renderPeers(peers: readonly PeerStatus[]): string {
  if (peers.length === 0) return 'No peers configured.\n';
  return table(
    ['NAME', 'ADDRESS', 'AS', 'STATE', 'UPTIME', 'RECEIVED', 'ACCEPTED', 'ADVERTISED', 'LAST ERROR'],
    peers.map((p) => [
      p.name,
      p.address,
      String(p.as),
      p.state,
      since(p.uptimeSeconds),
      String(p.prefixesReceived),
      String(p.prefixesAccepted),
      String(p.prefixesAdvertised),
      p.lastError ?? '',
    ]),
  );
}

/** One row per path; `*` marks the best path, `=` the rest of its ECMP set, `S` stale paths. */
export function renderRoutes(routes: readonly RouteStatus[]): string {
  if (routes.length === 0) return 'No routes.\n';
  const rows = routes.flatMap((r) =>
    r.paths.map((p, i) => [
      `${p.best ? '*' : p.multipath ? '=' : ' '}${p.stale ? 'S' : ' '}`,
      i === 0 ? r.prefix : '',
      p.nextHop,
      p.from,
      p.asPath.length === 0 ? '-' : p.asPath.join(' '),
      p.origin,
      p.localPref === undefined ? '' : String(p.localPref),
      p.med === undefined ? '' : String(p.med),
      [...p.communities, ...p.largeCommunities].join(' '),
    ]),
  );
  return table(
    ['', 'PREFIX', 'NEXT HOP', 'FROM', 'AS PATH', 'ORIGIN', 'LOCPREF', 'MED', 'COMMUNITIES'],
    rows,
  );
}

/** Kernel sync's counts, then each refused prefix with the kernel's reason. */
export function renderKernel(status: KernelStatus): string {
  if (!status.enabled) return 'Kernel sync is off (kernel.enabled: false).\n';
  const columns = [
    'table',
    'metric',
    'desired',
    'installed',
    'stale',
    'pending',
    'failed',
    'repaired',
  ] as const;
  const counts = table(
    columns.map((c) => c.toUpperCase()),
    [columns.map((c) => String(status[c]))],
  );
  if (status.failures.length === 0) return counts;
  return `${counts}\n${table(
    ['REFUSED PREFIX', 'REASON'],
    status.failures.map((f) => [f.prefix, f.error]),
  )}`;
}

interface QueryOptions {
  output: string;
  socket: string;
}

/** Resolves on the first SIGTERM or SIGINT, with its name. */
function terminationSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

export function register(program: Command): void {
  const bgp = program.command('bgp').description('the BGP speaker: sessions, routes and kernel sync');
  bgp
    .command('run')
    .description('run the speaker in the foreground from a config file; SIGTERM sends Cease to every peer')
    .requiredOption('-c, --config <file>', 'speaker configuration (YAML, see docs/bgp-speaker.md)')
    .option(
      '--graceful',
      'on SIGTERM close sessions without a NOTIFICATION and keep kernel routes, so graceful-restart peers keep ours (RFC 4724)',
    )
    .action(async (opts: { config: string; graceful?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ logLevel?: string }>();
      const log = createLogger({ level: parseLogLevel(globals.logLevel, 'info'), name: 'trellis-bgp' });
      const config = await loadSpeakerConfig(opts.config);
      // Listen for signals before starting: a SIGTERM during start-up still shuts down cleanly.
      const signal = terminationSignal();
      const running = await runSpeaker(config, { logger: log });
      log.info({ signal: await signal, graceful: opts.graceful === true }, 'bgp: shutting down');
      await running.stop({ graceful: opts.graceful === true });
    });
  addQuery(
    bgp,
    'peers',
    'show BGP sessions: state, uptime, prefixes in/out, last error',
    () => ({ method: 'peers' }),
    renderPeers,
  );
  addQuery(
    bgp,
    'routes [prefix]',
    'show the RIB: best and ECMP paths with attributes (all, or those for PREFIX)',
    (prefix) => (prefix === undefined ? { method: 'routes' } : { method: 'routes', prefix }),
    renderRoutes,
  );
  addQuery(
    bgp,
    'kernel',
    'show kernel sync: routes wanted, installed, stale, refused (with the reason) and repaired',
    () => ({ method: 'kernel' }),
    renderKernel,
  );
}

/** A subcommand that asks the speaker one question over its control socket and prints the answer. */
function addQuery<T>(
  bgp: Command,
  usage: string,
  description: string,
  request: (argument: string | undefined) => ControlQuery,
  render: (answer: T) => string,
): void {
  bgp
    .command(usage)
    .description(description)
    .option('-o, --output <format>', 'table|json', 'table')
    .option('--socket <path>', 'control socket of the speaker', DEFAULT_BGP_SOCKET)
    .action(async (...args: unknown[]) => {
      // commander passes the positional arguments, the options, then the command itself.
      const cmd = args.at(-1) as Command;
      const opts = cmd.opts<QueryOptions>();
      const format = parseBgpOutput(opts.output);
      const answer = (await controlRequest(opts.socket, request(cmd.args[0]))) as T;
      process.stdout.write(format === 'json' ? `${JSON.stringify(answer, null, 2)}\n` : render(answer));
    });
}
