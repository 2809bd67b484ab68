// Prometheus metrics of the agent. One registry per agent (not prom-client's global one), so
// tests can run several agents in one process and read each one's numbers.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CniError } from '../cni/errors.js';
import type { CniHandler } from '../cni/types.js';

export class AgentMetrics {
  readonly registry = new Registry();
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
  readonly errors = new Counter({
    name: 'trellis_agent_errors_total',
    help: 'Errors in background loops, by component',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
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
