// Prometheus metrics of the agent. One registry per agent (not prom-client's global one), so
// tests can run several agents in one process and read each one's numbers.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { KernelSyncStats } from '../../bgp/kernel/index.js';
import { CniError } from '../cni/errors.js';
import type { CniHandler } from '../cni/types.js';

/** One BGP session as the metrics see it (BgpSync provides them at scrape time). */
export interface BgpPeerSample {
  readonly peer: string;
  /** The session's address family: ipv4 or ipv6. */
  readonly family: string;
  /** RFC 4271 FSM state. */
  readonly state: string;
  readonly received: number;
  readonly advertised: number;
}

/** What the BGP metrics read at scrape time. */
export interface BgpSource {
  sessions(): readonly BgpPeerSample[];
  /** Undefined while no speaker runs or kernel sync is off. */
  kernel(): KernelSyncStats | undefined;
}

const KERNEL_ROUTE_STATES = ['desired', 'installed', 'stale', 'pending', 'failed'] as const;

const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

export class AgentMetrics {
  readonly registry = new Registry();
  #bgp: BgpSource = { sessions: () => [], kernel: () => undefined };
  readonly cniRequests = new Counter({
    name: 'trellis_cni_requests_total',
    help: 'CNI requests handled, by command and CNI result code (0 = success)',
    labelNames: ['command', 'code'] as const,
    registers: [this.registry],
  });
  readonly cniDuration = new Histogram({
    name: 'trellis_cni_request_duration_seconds',
    help: 'Time the agent spent on a CNI request, by command',
    labelNames: ['command'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly ipamAllocated = new Gauge({
    name: 'trellis_ipam_allocated_addresses',
    help: 'Addresses allocated to attachments on this node, by address family',
    labelNames: ['family'] as const,
    registers: [this.registry],
  });
  readonly ipamLeaksReleased = new Counter({
    name: 'trellis_ipam_leaked_addresses_released_total',
    help: 'Addresses the leak sweep released (seen leaked on two sweeps and re-validated)',
    registers: [this.registry],
  });
  readonly routeSyncs = new Counter({
    name: 'trellis_node_route_changes_total',
    help: 'Node routes programmed by the route reconciler, by operation (replace, delete, failed)',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  readonly policyApplySeconds = new Histogram({
    name: 'trellis_policy_apply_duration_seconds',
    help: 'Time from a policy-relevant change to the kernel holding the new ruleset (one pass)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  // BGP gauges are filled at scrape time from the speaker's live state, so a removed peer
  // disappears and nothing polls the speaker between scrapes.
  readonly bgpSessionEstablished = this.#bgpGauge({
    name: 'trellis_bgp_session_established',
    help: 'Whether the BGP session with the peer is Established (1) or not (0)',
    labelNames: ['peer'],
    fill: (g, s) => g.set({ peer: s.peer }, s.state === 'Established' ? 1 : 0),
  });
  readonly bgpSessionState = this.#bgpGauge({
    name: 'trellis_bgp_session_state',
    help: 'BGP session FSM state: 1 for the state the session is in, 0 for the other five',
    labelNames: ['peer', 'state'],
    fill: (g, s) => {
      for (const state of BGP_STATES) g.set({ peer: s.peer, state }, s.state === state ? 1 : 0);
    },
  });
  readonly bgpPrefixesReceived = this.#bgpGauge({
    name: 'trellis_bgp_prefixes_received',
    help: 'Prefixes the peer has sent us and not withdrawn (before import policy)',
    labelNames: ['peer', 'family'],
    fill: (g, s) => g.set({ peer: s.peer, family: s.family }, s.received),
  });
  readonly bgpPrefixesAdvertised = this.#bgpGauge({
    name: 'trellis_bgp_prefixes_advertised',
    help: 'Prefixes we advertise to the peer',
    labelNames: ['peer', 'family'],
    fill: (g, s) => g.set({ peer: s.peer, family: s.family }, s.advertised),
  });
  readonly errors = new Counter({
    name: 'trellis_agent_errors_total',
    help: 'Errors in background loops, by component',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });

  readonly bgpKernelRoutes = new Gauge({
    name: 'trellis_bgp_kernel_routes',
    help: 'BGP routes in kernel sync: desired (best paths to install), installed, stale (kept through a restart), pending, failed (refused by the kernel, e.g. next hop not on link)',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      this.bgpKernelRoutes.reset();
      const stats = this.#bgp.kernel();
      if (stats === undefined) return;
      for (const state of KERNEL_ROUTE_STATES) this.bgpKernelRoutes.set({ state }, stats[state]);
    },
  });
  readonly bgpKernelRepaired = new Counter({
    name: 'trellis_bgp_kernel_routes_repaired_total',
    help: 'BGP routes kernel sync put back, changed or removed in its own resyncs (periodic, or after a link came back up): someone else changed them, or a link went down',
    registers: [this.registry],
    collect: () => {
      this.bgpKernelRepaired.reset();
      const stats = this.#bgp.kernel();
      if (stats !== undefined) this.bgpKernelRepaired.inc(stats.repaired);
    },
  });

  /** Where the BGP metrics read the sessions and kernel sync from at each scrape. */
  observeBgp(source: BgpSource): void {
    this.#bgp = source;
  }

  #bgpGauge<L extends string>(spec: {
    name: string;
    help: string;
    labelNames: readonly L[];
    fill: (gauge: Gauge<L>, session: BgpPeerSample) => void;
  }): Gauge<L> {
    const gauge: Gauge<L> = new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames,
      registers: [this.registry],
      collect: () => {
        gauge.reset();
        for (const session of this.#bgp.sessions()) spec.fill(gauge, session);
      },
    });
    return gauge;
  }
}

/** Wraps a CNI handler so every request is counted and timed; behaviour is unchanged. */
export function instrumentCniHandler(handler: CniHandler, metrics: AgentMetrics): CniHandler {
  const timed =
    <A extends unknown[], R>(command: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const end = metrics.cniDuration.startTimer({ command });
      try {
        const result = await fn(...args);
        metrics.cniRequests.inc({ command, code: '0' });
        return result;
      } catch (err) {
        metrics.cniRequests.inc({ command, code: String(err instanceof CniError ? err.code : 100) });
        throw err;
      } finally {
        end();
      }
    };
  return {
    add: timed('ADD', handler.add.bind(handler)),
    del: timed('DEL', handler.del.bind(handler)),
    check: timed('CHECK', handler.check.bind(handler)),
    status: timed('STATUS', handler.status.bind(handler)),
    gc: timed('GC', handler.gc.bind(handler)),
  };
}
