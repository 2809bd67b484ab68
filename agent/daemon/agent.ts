// The node agent: registers its node, serves the CNI shim, keeps node routes in sync, runs the
// BGP speaker (with --bgp) and sweeps leaked addresses. It runs in the node's network namespace (the host's, on a real node) and
// adopts what a previous run left: veths, pod routes and node routes stay; only differences
// from the datastore are programmed.

import { dirname, join } from 'node:path';
import type { PeerStatus } from '../../bgp/speaker/index.js';
import { PolicyApplier } from '../../policy/apply/index.js';
import { type Datastore, isAlreadyExists, isConflict } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import { RouteNetlink } from '../../src/netlink/index.js';
import type { TrellisNode } from '../../src/resources/index.js';
import { CniServer } from '../cni/server.js';
import { attachmentHandle, hostVethName } from '../dataplane/naming.js';
import { PodInterfaces } from '../dataplane/pod-interface.js';
import { IpamAllocator } from '../ipam/allocator.js';
import { IpamGc } from '../ipam/gc.js';
import { BgpSync } from './bgp-sync.js';
import { TrellisCniHandler } from './cni-handler.js';
import { AgentHttpServer } from './http.js';
import { InflightAdds } from './inflight.js';
import { AgentMetrics, instrumentCniHandler } from './metrics.js';
import { NodeRouteSync } from './node-route-sync.js';
import { PolicySync } from './policy-sync.js';

export interface AgentOptions {
  node: string;
  datastore: Datastore;
  /** The node's fabric addresses with prefix length, e.g. 10.0.0.11/24. */
  addresses: { ipv4?: string; ipv6?: string };
  labels?: Record<string, string>;
  cniSocket: string;
  log: Logger;
  /**
   * Program routes to other nodes' blocks directly (host-gw mode). Default true. Ignored with
   * `bgp`: then BGP routes other nodes' blocks and only this node's blackholes are programmed.
   */
  hostGateway?: boolean;
  /**
   * Run the BGP speaker, configured from the datastore's BGPConfiguration, BGPPeers,
   * TrellisNodes and IPAMBlocks. `controlSocket` serves `trellis bgp peers|routes --socket`.
   */
  bgp?: { controlSocket?: string };
  /** Leak sweep period. Default 60 s; an address must look leaked on two sweeps. */
  gcIntervalMs?: number;
  /** Compile and apply NetworkPolicy (iptables + ipset) in this namespace. Default true. */
  policy?: boolean;
  /** Where /healthz, /readyz and /metrics are served; absent: not served. */
  http?: { host: string; port: number };
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #netlink: RouteNetlink;
  readonly #pods: PodInterfaces;
  readonly #ipam: IpamAllocator;
  /** The periodic sweep's collector; the CNI GC verb has its own, so their observations never mix. */
  readonly #sweeper: IpamGc;
  readonly #inflight: InflightAdds;
  readonly #handler: TrellisCniHandler;
  readonly #server: CniServer;
  readonly #routes: NodeRouteSync | undefined;
  readonly #http: AgentHttpServer | undefined;
  readonly #policy: PolicySync | undefined;
  readonly #bgp: BgpSync | undefined;
  #policyReady = false;
  #bgpReady = false;
  readonly metrics = new AgentMetrics();
  #routesReady = false;
  #gcTimer: NodeJS.Timeout | undefined;

  constructor(opts: AgentOptions) {
    this.#o = opts;
    const log = opts.log;
    this.#netlink = RouteNetlink.open();
    this.#pods = new PodInterfaces(this.#netlink, log.child({ component: 'dataplane' }));
    this.#ipam = new IpamAllocator(opts.datastore, { logger: log.child({ component: 'ipam' }) });
    const gcInterval = opts.gcIntervalMs ?? 60_000;
    const collector = (component: string): IpamGc =>
      new IpamGc(opts.datastore, this.#ipam, {
        node: opts.node,
        // Two sweeps one period apart: the second observation of a leak comes a full period later.
        minIntervalMs: gcInterval,
        logger: log.child({ component }),
      });
    this.#sweeper = collector('ipam-sweep');
    this.#inflight = new InflightAdds(join(dirname(opts.cniSocket), 'inflight-adds.json'));
    const handler = new TrellisCniHandler({
      node: opts.node,
      nodeLabels: () => opts.labels ?? {},
      datastore: opts.datastore,
      ipam: this.#ipam,
      gc: collector('ipam-cni-gc'),
      pods: this.#pods,
      inflight: this.#inflight,
      log: log.child({ component: 'cni' }),
    });
    this.#handler = handler;
    this.#server = new CniServer({
      socketPath: opts.cniSocket,
      handler: instrumentCniHandler(handler, this.metrics),
      logger: log.child({ component: 'cni-server' }),
    });
    if (opts.bgp !== undefined || (opts.hostGateway ?? true)) {
      this.#routes = new NodeRouteSync({
        node: opts.node,
        datastore: opts.datastore,
        netlink: this.#netlink,
        log: log.child({ component: 'routes' }),
        metrics: this.metrics,
        localOnly: opts.bgp !== undefined,
      });
      void this.#routes.synced.then(() => {
        this.#routesReady = true;
      });
    } else {
      this.#routesReady = true;
    }
    if (opts.policy ?? true) {
      const policy = new PolicySync({
        node: opts.node,
        datastore: opts.datastore,
        ipam: this.#ipam,
        applier: new PolicyApplier({ logger: log.child({ component: 'policy-apply' }) }),
        log: log.child({ component: 'policy' }),
        metrics: this.metrics,
      });
      void policy.programmed.then(() => {
        this.#policyReady = true;
      });
      this.#policy = policy;
    } else {
      this.#policyReady = true;
    }
    if (opts.bgp !== undefined) {
      const bgp = new BgpSync({
        node: opts.node,
        datastore: opts.datastore,
        log: log.child({ component: 'bgp' }),
        metrics: this.metrics,
        ...(opts.bgp.controlSocket === undefined ? {} : { controlSocket: opts.bgp.controlSocket }),
      });
      void bgp.started.then(() => {
        this.#bgpReady = true;
      });
      this.#bgp = bgp;
    } else {
      this.#bgpReady = true;
    }
    if (opts.http) {
      this.#http = new AgentHttpServer({
        ...opts.http,
        registry: this.metrics.registry,
        readiness: [
          { name: 'routes', check: () => (this.#routesReady ? undefined : 'node routes not programmed yet') },
          { name: 'policy', check: () => (this.#policyReady ? undefined : 'policy not programmed yet') },
          // Started with its configuration, not "sessions up": a node whose ToR is down must
          // still become ready (its pods reach the rest of the cluster over the mesh).
          { name: 'bgp', check: () => (this.#bgpReady ? undefined : 'bgp speaker not started yet') },
        ],
      });
    }
  }

  async start(): Promise<void> {
    await this.#register();
    await this.#handler.recoverInterruptedAdds();
    // Fail closed before the CNI socket opens: no workload interface passes traffic unprogrammed.
    await this.#policy?.start();
    this.#routes?.start();
    this.#bgp?.start();
    await this.#server.start();
    const served = await this.#http?.start();
    if (served) this.#o.log.info(served, 'health and metrics served');
    const period = this.#o.gcIntervalMs ?? 60_000;
    this.#gcTimer = setInterval(() => void this.sweepLeaks(), period);
    this.#gcTimer.unref();
    this.#o.log.info({ node: this.#o.node, socket: this.#o.cniSocket }, 'agent started');
  }

  /** Resolves when node routes are programmed (host-gw mode) — the agent's readiness. */
  ready(): Promise<void> {
    return this.#routes?.synced ?? Promise.resolve();
  }

  /** The BGP speaker's sessions (empty without `bgp`). */
  bgpPeers(): readonly PeerStatus[] {
    return this.#bgp?.peers() ?? [];
  }

  /** Waits for node routes to match the datastore now (tests and the lab use it). */
  async syncRoutes(): Promise<void> {
    await this.#routes?.syncOnce();
  }

  /** One leak sweep: attachments whose host veth is gone are leak suspects. */
  async sweepLeaks(): Promise<void> {
    try {
      const live = new Set(this.#pods.listHostVeths().map((l) => l.name));
      const allocations = await this.#ipam.listAllocations(this.#o.node);
      const valid = allocations
        .filter((a) => {
          const attrs = a.attributes;
          return (
            attrs?.containerID !== undefined &&
            attrs.ifname !== undefined &&
            live.has(hostVethName(attrs.containerID, attrs.ifname))
          );
        })
        .map((a) => attachmentHandle(a.attributes?.containerID ?? '', a.attributes?.ifname ?? ''));
      // An ADD in progress holds its address before its veth exists.
      valid.push(...this.#inflight.handles());
      this.metrics.ipamAllocated.set(
        { family: '4' },
        allocations.filter((a) => !a.address.includes(':')).length,
      );
      this.metrics.ipamAllocated.set(
        { family: '6' },
        allocations.filter((a) => a.address.includes(':')).length,
      );
      const report = await this.#sweeper.gc(valid);
      this.metrics.ipamLeaksReleased.inc(report.released.length);
      if (report.released.length > 0 || report.suspected > 0) {
        this.#o.log.info({ released: report.released, suspected: report.suspected }, 'leak sweep');
      }
    } catch (err) {
      this.metrics.errors.inc({ component: 'ipam-gc' });
      this.#o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'leak sweep failed');
    }
  }

  /**
   * Stops serving; leaves veths and routes in place so pods keep forwarding across a restart.
   * The BGP speaker stops gracefully (RFC 4724): sessions close without a NOTIFICATION, so
   * peers keep our routes as stale until we are back, and our BGP routes stay in the kernel.
   */
  async stop(): Promise<void> {
    clearInterval(this.#gcTimer);
    this.#routes?.stop();
    this.#policy?.stop();
    await this.#bgp?.stop({ graceful: true });
    await this.#http?.close();
    await this.#server.close();
    this.#netlink.close();
    this.#o.log.info({ node: this.#o.node }, 'agent stopped');
  }

  async #register(): Promise<void> {
    const { datastore, node, addresses, labels } = this.#o;
    for (;;) {
      const existing = await datastore.get<TrellisNode>('TrellisNode', node);
      const desired: TrellisNode = {
        apiVersion: 'trellis.network/v1',
        kind: 'TrellisNode',
        metadata: { ...(existing?.metadata ?? { name: node }), ...(labels ? { labels } : {}) },
        spec: { ...(existing?.spec ?? {}), addresses },
      };
      try {
        if (existing === undefined) await datastore.create(desired);
        else await datastore.update(desired);
        return;
      } catch (err) {
        if (!isConflict(err) && !isAlreadyExists(err)) throw err;
      }
    }
  }
}
