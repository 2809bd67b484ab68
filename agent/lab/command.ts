// `trellis lab up|down`: the multi-node demo lab (the README's main job).
import type { Command } from 'commander';
import { createLogger, parseLogLevel } from '../../src/log.js';
import { DEMO_DIR, formatReport, labTeardown, labUp } from './demo.js';

export function register(program: Command): void {
  const lab = program
    .command('lab')
    .description('multi-node Trellis lab in network namespaces (embedded datastore)');
  lab
    .command('up')
    .description(
      'bring up nodes, agents and pods; print addresses and a reachability table; leave it running',
    )
    .option('--nodes <n>', 'number of nodes', '3')
    .option('--pods <n>', 'pods per node', '2')
    .option('--dir <path>', 'state directory (datastore, conflists, agent logs)', DEMO_DIR)
    .option('--no-tor', 'no ToR router: nodes route to each other directly (host-gw) instead of over BGP')
    .action(async (opts: { nodes: string; pods: string; dir: string; tor: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ logLevel?: string }>();
      const log = createLogger({ level: parseLogLevel(globals.logLevel, 'warn'), name: 'trellis-lab' });
      const nodes = Number(opts.nodes);
      const pods = Number(opts.pods);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50) throw new Error('--nodes must be 1..50');
      if (!Number.isInteger(pods) || pods < 1 || pods > 50) throw new Error('--pods must be 1..50');
      const report = await labUp({ nodes, podsPerNode: pods, dir: opts.dir, tor: opts.tor, log });
      const inspect = opts.tor
        ? [
            `ToR: vtysh --vty_socket ${opts.dir}/tor -c 'show bgp summary'`,
            `node: trellis bgp peers --socket ${opts.dir}/<node>/bgp.sock`,
          ]
        : [];
      process.stdout.write(
        `${[
          formatReport(report),
          '',
          `agent logs: ${opts.dir}/<node>/agent.log`,
          ...inspect,
          'tear down with: npm run lab:down (trellis lab down)',
        ].join('\n')}\n`,
      );
      if (report.reachability.some((r) => !r.ipv4 || !r.ipv6)) process.exitCode = 1;
    });
  lab
    .command('down')
    .description('stop the lab agents and delete every namespace of the lab')
    .option('--dir <path>', 'state directory', DEMO_DIR)
    .action(async (opts: { dir: string }) => {
      await labTeardown(opts.dir);
      process.stdout.write('lab down\n');
    });
}
