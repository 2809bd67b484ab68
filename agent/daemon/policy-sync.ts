// Policy in the agent: datastore (Namespaces, Pods, NetworkPolicies, and this node's IPAM
// allocations) -> compiler -> applier. Level-triggered: any change schedules one pass that
// re-reads everything and lets the applier write only what differs, so a missed or coalesced
// event can never leave the kernel behind. Every local attachment is an endpoint — one with no
// Pod object (a container started outside Kubernetes) is selected by no policy, so it is open,
// as Kubernetes requires — and until its first pass the fail-closed base drops its traffic.

import type { PolicyApplier } from '../../policy/apply/index.js';
import { compilePolicies } from '../../policy/compile.js';
import type { Pod } from '../../policy/model.js';
import { renderPolicy } from '../../policy/render.js';
import type { Datastore, Resource, WatchHandle } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import { hostVethName } from '../dataplane/naming.js';
import type { IpamAllocator } from '../ipam/allocator.js';
import { KIND_BLOCK } from '../ipam/types.js';
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
}

export class PolicySync {
  readonly #o: PolicySyncOptions;
  readonly #inputs = new PolicyInputs();
  readonly #watches: WatchHandle[] = [];
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Resolves after the first successful apply (readiness). */
  readonly programmed: Promise<void>;
  #markProgrammed: () => void = () => {};

  constructor(opts: PolicySyncOptions) {
    this.#o = opts;
    this.programmed = new Promise((resolve) => {
      this.#markProgrammed = resolve;
    });
  }

  async start(): Promise<void> {
    await this.#o.applier.ensureFailClosed();
    const onEvent = (): void => this.schedule();
    const onError = (err: Error): void => {
      this.#o.log.warn({ err: err.message }, 'policy watch failed; re-reading');
      this.schedule();
    };
    for (const kind of [...POLICY_INPUT_KINDS, KIND_BLOCK]) {
      this.#watches.push(this.#o.datastore.watch(kind, {}, { onEvent, onError }));
    }
    this.#resync = setInterval(() => void this.#repair(), this.#o.resyncMs ?? 90_000);
    this.#resync.unref();
    this.schedule();
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#watches) w.stop();
    clearTimeout(this.#timer);
    clearInterval(this.#resync);
  }

  schedule(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#running.then(() =>
        this.syncOnce().catch((err: unknown) => {
          this.#o.metrics?.errors.inc({ component: 'policy' });
          this.#o.log.error(
            { err: err instanceof Error ? err.message : String(err) },
            'policy apply failed; previous ruleset stays in force',
          );
        }),
      );
    }, this.#o.coalesceMs ?? 20);
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
    const rendered = renderPolicy(compilePolicies(state));
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
