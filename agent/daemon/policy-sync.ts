// Policy in the agent: datastore (Namespaces, Pods, NetworkPolicies, and this node's IPAM
// allocations) -> compiler -> applier. Level-triggered: any change schedules one pass that
// re-reads everything and lets the applier write only what differs, so a missed or coalesced
// event can never leave the kernel behind. Every local attachment is an endpoint — one with no
// Pod object (a container started outside Kubernetes) is selected by no policy, so it is open,
// as Kubernetes requires — and until its first pass the fail-closed base drops its traffic.

import type { PolicyApplier } from '../../policy/apply/index.js';
import { IncrementalPolicyCompiler } from '../../policy/incremental.js';
import type { Pod } from '../../policy/model.js';
import type { Datastore, Resource } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import { hostVethName } from '../dataplane/naming.js';
import type { IpamAllocator } from '../ipam/allocator.js';
import { KIND_BLOCK } from '../ipam/types.js';
import { CoalescedTask, startReconcileLoop } from './coalesce.js';
import type { AgentMetrics } from './metrics.js';
import { POLICY_INPUT_KINDS, PolicyInputs } from './policy-inputs.js';

export interface PolicySyncOptions {
  node: string;
  datastore: Datastore;
  ipam: IpamAllocator;
  applier: PolicyApplier;
  log: Logger;
  metrics?: AgentMetrics;
  /** Period of the check that repairs rules another tool clobbered. Default 90 s. */
  resyncMs?: number;
  /** How long changes are gathered before one pass. Default 20 ms. */
  coalesceMs?: number;
  /** Earliest start of a pass after the previous one. Default 100 ms. */
  minIntervalMs?: number;
}

export class PolicySync {
  readonly #o: PolicySyncOptions;
  readonly #inputs = new PolicyInputs();
  readonly #compiler = new IncrementalPolicyCompiler();
  readonly #task: CoalescedTask;
  #loop: { stop(): void } | undefined;
  #repairTimer: NodeJS.Timeout | undefined;
  /** Resolves after the first successful apply (readiness). */
  readonly programmed: Promise<void>;
  #markProgrammed: () => void = () => {};

  constructor(opts: PolicySyncOptions) {
    this.#o = opts;
    this.programmed = new Promise((resolve) => {
      this.#markProgrammed = resolve;
    });
    this.#task = new CoalescedTask(() => this.syncOnce(), {
      delayMs: opts.coalesceMs ?? 20,
      // A pass costs a few iptables-restore/ipset processes; a burst of pod starts shares them.
      minIntervalMs: opts.minIntervalMs ?? 100,
      onError: (err) => {
        opts.metrics?.errors.inc({ component: 'policy' });
        opts.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'policy apply failed; previous ruleset stays in force',
        );
      },
    });
  }

  async start(): Promise<void> {
    await this.#o.applier.ensureFailClosed();
    this.#loop = startReconcileLoop({
      datastore: this.#o.datastore,
      kinds: [...POLICY_INPUT_KINDS, KIND_BLOCK],
      task: this.#task,
      // Level-triggered passes re-read the datastore; the kernel side is repaired by resync.
      resyncMs: 60_000,
      log: this.#o.log,
    });
    this.#repairTimer = setInterval(() => void this.#repair(), this.#o.resyncMs ?? 90_000);
    this.#repairTimer.unref();
  }

  stop(): void {
    this.#loop?.stop();
    clearInterval(this.#repairTimer);
  }

  /** One full pass: read, compile, apply what differs. */
  async syncOnce(): Promise<void> {
    const { datastore, log, node } = this.#o;
    const started = performance.now();
    for (const kind of POLICY_INPUT_KINDS) {
      const { items } = await datastore.list<Resource>(kind);
      for (const obj of items) {
        const outcome = this.#inputs.upsert(obj);
        if (!outcome.ok) {
          log.error(
            { kind, error: outcome.error, keptPrevious: outcome.keptPrevious },
            'invalid object skipped',
          );
        }
      }
      this.#inputs.retainOnly(kind, items);
    }
    const local = await this.#localEndpoints();
    const state = this.#inputs.state(
      new Map(local.flatMap((e) => e.podIPs.map((ip) => [ip, e.hostInterface]))),
    );
    // Attachments no Pod object describes are endpoints too (see the header).
    const described = new Set(state.pods.flatMap((p) => p.podIPs));
    for (const e of local) if (!e.podIPs.some((ip) => described.has(ip))) state.pods.push(e);
    const rendered = this.#compiler.update(state);
    const report = await this.#o.applier.apply(rendered);
    const seconds = (performance.now() - started) / 1000;
    this.#o.metrics?.policyApplySeconds.observe(seconds);
    if (report.commands > 0) {
      log.info(
        {
          node,
          endpoints: local.length,
          chainsWritten: report.chainsWritten.length,
          setsRefilled: report.setsRefilled.length,
          ms: Math.round(seconds * 1000),
        },
        'policy programmed',
      );
    }
    this.#markProgrammed();
  }

  async #localEndpoints(): Promise<(Pod & { hostInterface: string })[]> {
    const byHandle = new Map<string, Pod & { hostInterface: string }>();
    for (const a of await this.#o.ipam.listAllocations(this.#o.node)) {
      const attrs = a.attributes;
      if (attrs?.containerID === undefined || attrs.ifname === undefined) continue;
      const existing = byHandle.get(a.handle);
      if (existing) {
        existing.podIPs.push(a.address);
        continue;
      }
      byHandle.set(a.handle, {
        namespace: attrs.namespace ?? '',
        name: attrs.pod ?? attrs.containerID,
        labels: {},
        podIPs: [a.address],
        ports: [],
        hostInterface: hostVethName(attrs.containerID, attrs.ifname),
      });
    }
    return [...byHandle.values()];
  }

  async #repair(): Promise<void> {
    try {
      await this.#o.applier.resync();
    } catch (err) {
      this.#o.metrics?.errors.inc({ component: 'policy-resync' });
      this.#o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'policy resync failed');
    }
  }
}
