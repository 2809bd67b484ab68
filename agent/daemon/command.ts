// `trellis agent`: runs the node agent in the foreground until SIGTERM/SIGINT.
import { dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { FileDatastore } from '../../src/datastore/file.js';
import { nodeHints } from '../../src/datastore/kubernetes/node-hints.js';
import type { Datastore, Resource } from '../../src/datastore/types.js';
import { createLogger, parseLogLevel } from '../../src/log.js';
import { validateResource } from '../../src/resources/index.js';

interface AgentCliOptions {
  node: string;
  ipv4?: string;
  ipv6?: string;
  label: string[];
  cniSocket: string;
  hostGateway: boolean;
  bgp: boolean;
  bgpControlSocket?: string;
  policy: boolean;
  gcInterval: string;
  http?: string;
  datastoreType: 'file' | 'kubernetes';
  kubeconfig?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: CNI server, IPAM, node routes, policy, BGP (--bgp)')
    .requiredOption('--node <name>', 'this node’s name')
    .option('--ipv4 <address[/len]>', 'node IPv4 address, e.g. 10.0.0.11/24 (bare: /32)')
    .option('--ipv6 <address[/len]>', 'node IPv6 address (bare: /128)')
    .option('--label <key=value>', 'node label (repeatable)', collect, [])
    .option('--cni-socket <path>', 'unix socket the trellis-cni shim connects to', '/run/trellis/cni.sock')
    .option('--no-host-gateway', 'do not program routes to other nodes’ blocks (an outside router does)')
    .option('--bgp', 'run the BGP speaker, configured from BGPConfiguration, BGPPeer, TrellisNode, IPAMBlock')
    .option(
      '--bgp-control-socket <path>',
      'with --bgp: control socket (default: bgp.sock beside the CNI socket)',
    )
    .option('--no-policy', 'do not enforce NetworkPolicy on this node')
    .option('--gc-interval <ms>', 'leak sweep period in milliseconds', '60000')
    .option('--http <host:port>', 'serve /healthz, /readyz and /metrics here, e.g. 0.0.0.0:9099')
    .addOption(
      new Option('--datastore-type <type>', 'embedded file store, or the Kubernetes API')
        .choices(['file', 'kubernetes'])
        .default('file'),
    )
    .option('--kubeconfig <path>', 'with --datastore-type kubernetes: kubeconfig (default: in-cluster)')
    .action(async (opts: AgentCliOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ datastore: string; logLevel?: string }>();
      const log = createLogger({ level: parseLogLevel(globals.logLevel, 'info'), name: 'trellis-agent' });
      const labels = Object.fromEntries(
        opts.label.map((kv) => {
          const i = kv.indexOf('=');
          if (i <= 0) throw new Error(`--label ${kv}: expected key=value`);
          return [kv.slice(0, i), kv.slice(i + 1)];
        }),
      );
      // Loaded only when used: @kubernetes/client-node adds ~1 s and ~80 MB to every start.
      const datastore =
        opts.datastoreType === 'kubernetes'
          ? (await import('../../src/datastore/kubernetes/datastore.js')).KubernetesDatastore.connect(
              opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : { inCluster: true },
              { logger: log },
            )
          : await FileDatastore.open(globals.datastore, { validate: validateResource, logger: log });
      const addresses = await nodeAddresses(opts, datastore);
      const { Agent } = await import('./agent.js');
      const agent = new Agent({
        node: opts.node,
        datastore,
        addresses,
        labels,
        cniSocket: opts.cniSocket,
        log,
        hostGateway: opts.hostGateway,
        ...(opts.bgp
          ? { bgp: { controlSocket: opts.bgpControlSocket ?? join(dirname(opts.cniSocket), 'bgp.sock') } }
          : {}),
        policy: opts.policy,
        gcIntervalMs: Number(opts.gcInterval),
        ...(opts.http ? { http: parseHostPort(opts.http) } : {}),
      });
      await agent.start();
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await agent.stop();
      await datastore.close();
    });
}

function parseHostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--http ${text}: expected host:port`);
  }
  return { host: text.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

/** The downward API gives a bare host IP; a node address without a length is a host route. */
const withLength = (address: string, bits: number): string =>
  address.includes('/') ? address : `${address}/${bits}`;

/**
 * The node's addresses: from the flags, else (on Kubernetes) from its Node object's addresses,
 * as the kubelet reported them.
 */
async function nodeAddresses(
  opts: AgentCliOptions,
  ds: Datastore,
): Promise<{ ipv4?: string; ipv6?: string }> {
  let { ipv4, ipv6 } = opts;
  if (ipv4 === undefined && ipv6 === undefined && opts.datastoreType === 'kubernetes') {
    const node = await ds.get<Resource>('Node', opts.node);
    if (node === undefined) throw new Error(`Node ${opts.node} not found in the API: give --ipv4/--ipv6`);
    ({ ipv4, ipv6 } = nodeHints(node).addresses);
  }
  if (ipv4 === undefined && ipv6 === undefined) throw new Error('give --ipv4 and/or --ipv6');
  return {
    ...(ipv4 ? { ipv4: withLength(ipv4, 32) } : {}),
    ...(ipv6 ? { ipv6: withLength(ipv6, 128) } : {}),
  };
}
