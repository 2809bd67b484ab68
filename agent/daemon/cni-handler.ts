// The agent's side of the CNI contract: IPAM + pod interfaces behind the CniHandler the CNI
// server dispatches to. Order matters for "no partial state": the attachment is checked for
// duplicates before IPAM is touched, addresses are taken before the veth is made, and a failure
// after IPAM releases exactly what this call took.
import { existsSync } from 'node:fs';
import type { Datastore } from '../../src/datastore/types.js';
import type { Logger } from '../../src/log.js';
import {
  CNI_ERR_ATTACHMENT_EXISTS,
  CNI_ERR_CHECK_FAILED,
  CNI_ERR_INVALID_ENVIRONMENT,
  CNI_ERR_PLUGIN_NOT_AVAILABLE,
  CNI_ERR_POOL_EXHAUSTED,
  CNI_ERR_TRY_AGAIN_LATER,
  CniError,
} from '../cni/errors.js';
import type {
  CniAddRequest,
  CniCheckRequest,
  CniDelRequest,
  CniGcRequest,
  CniHandler,
  CniResult,
  CniStatusRequest,
} from '../cni/types.js';
import { attachmentHandle, HOST_VETH_MAC, POD_GATEWAY_V4, POD_GATEWAY_V6 } from '../dataplane/naming.js';
import {
  AttachmentExistsError,
  NetnsGoneError,
  type PodAddress,
  type PodAttachment,
  PodCheckError,
  type PodInterfaces,
} from '../dataplane/pod-interface.js';
import type { AssignResult, IpamAllocator } from '../ipam/allocator.js';
import { IpamExhaustedError } from '../ipam/errors.js';
import type { IpamGc } from '../ipam/gc.js';
import { KeyedMutex } from '../ipam/mutex.js';
import { type IPPool, KIND_POOL } from '../ipam/types.js';
import type { InflightAdds } from './inflight.js';

export interface CniHandlerDeps {
  node: string;
  nodeLabels: () => Readonly<Record<string, string>>;
  datastore: Datastore;
  ipam: IpamAllocator;
  /** Leak collection for the CNI GC verb (its own observations, apart from the periodic sweep's). */
  gc: IpamGc;
  pods: PodInterfaces;
  inflight: InflightAdds;
  log: Logger;
}

export class TrellisCniHandler implements CniHandler {
  readonly #deps: CniHandlerDeps;
  /** ADD/DEL/CHECK of one attachment run one at a time; different attachments run in parallel. */
  readonly #attachments = new KeyedMutex();

  constructor(deps: CniHandlerDeps) {
    this.#deps = deps;
  }

  add(req: CniAddRequest, signal: AbortSignal): Promise<CniResult> {
    const handle = attachmentHandle(req.containerId, req.ifName);
    return this.#attachments.run(handle, async () => {
      const { pods, node, inflight } = this.#deps;
      if (!existsSync(req.netns)) {
        throw new CniError(
          CNI_ERR_INVALID_ENVIRONMENT,
          'network namespace does not exist',
          `CNI_NETNS=${req.netns}`,
        );
      }
      if (pods.exists(req.containerId, req.ifName)) {
        throw new CniError(
          CNI_ERR_ATTACHMENT_EXISTS,
          'attachment already exists',
          `container ${req.containerId} interface ${req.ifName} was added before and not deleted`,
        );
      }
      inflight.begin({ handle, containerId: req.containerId, ifname: req.ifName });
      try {
        const { result, ipamMs, dataplaneMs } = await this.#attach(req, handle);
        // A runtime that went away (timeout, killed plugin) never learns of this attachment and
        // will not DEL it: undo it now rather than leave it for the leak sweep.
        if (signal.aborted) {
          await this.#rollback(req.containerId, req.ifName, handle);
          throw new CniError(
            CNI_ERR_TRY_AGAIN_LATER,
            'the runtime went away during ADD',
            'attachment rolled back',
          );
        }
        this.#deps.log.info(
          {
            node,
            containerId: req.containerId,
            ifname: req.ifName,
            ips: result.ips.map((i) => i.address),
            ipamMs,
            dataplaneMs,
          },
          'attachment added',
        );
        return result;
      } finally {
        inflight.end(handle);
      }
    });
  }

  /** Rolls back ADDs a previous agent was killed in the middle of (see inflight.ts). */
  async recoverInterruptedAdds(): Promise<void> {
    for (const entry of this.#deps.inflight.leftover) {
      await this.#attachments.run(entry.handle, () =>
        this.#rollback(entry.containerId, entry.ifname, entry.handle),
      );
      this.#deps.log.warn(entry, 'rolled back an ADD interrupted by an agent restart');
    }
  }

  async #attach(
    req: CniAddRequest,
    handle: string,
  ): Promise<{ result: CniResult; ipamMs: number; dataplaneMs: number }> {
    const t0 = performance.now();
    const assigned = await this.#assign(req, handle);
    const t1 = performance.now();
    const addresses: PodAddress[] = [];
    if (assigned.v4) addresses.push({ family: 4, address: assigned.v4.address });
    if (assigned.v6) addresses.push({ family: 6, address: assigned.v6.address });
    let info: ReturnType<PodInterfaces['add']>;
    try {
      info = this.#deps.pods.add(podAttachment(req, addresses));
    } catch (err) {
      await this.#deps.ipam.releaseByHandle(handle);
      throw translatePodError(err);
    }
    const t2 = performance.now();
    const result: CniResult = {
      interfaces: [
        { name: info.hostIfname, mac: HOST_VETH_MAC },
        { name: req.ifName, mac: info.podMac, sandbox: req.netns },
      ],
      ips: addresses.map((a) => ({
        address: `${a.address}/${a.family === 4 ? 32 : 128}`,
        gateway: a.family === 4 ? POD_GATEWAY_V4 : POD_GATEWAY_V6,
        interface: 1,
      })),
      routes: addresses.map((a) =>
        a.family === 4 ? { dst: '0.0.0.0/0', gw: POD_GATEWAY_V4 } : { dst: '::/0', gw: POD_GATEWAY_V6 },
      ),
      ...(req.config.dns ? { dns: req.config.dns } : {}),
    };
    return { result, ipamMs: round(t1 - t0), dataplaneMs: round(t2 - t1) };
  }

  /** Interface first: an address must not be handed out again while a veth still carries it. */
  async #rollback(
    containerId: string,
    ifname: string,
    handle: string,
  ): Promise<{ vethRemoved: boolean; released: string[] }> {
    const vethRemoved = this.#deps.pods.del(containerId, ifname);
    const released = await this.#deps.ipam.releaseByHandle(handle);
    return { vethRemoved, released: released.map((r) => r.address) };
  }

  del(req: CniDelRequest): Promise<void> {
    const handle = attachmentHandle(req.containerId, req.ifName);
    return this.#attachments.run(handle, async () => {
      const done = await this.#rollback(req.containerId, req.ifName, handle);
      this.#deps.log.info(
        { containerId: req.containerId, ifname: req.ifName, ...done },
        'attachment deleted',
      );
    });
  }

  check(req: CniCheckRequest): Promise<void> {
    const handle = attachmentHandle(req.containerId, req.ifName);
    return this.#attachments.run(handle, async () => {
      const addresses: PodAddress[] = req.prevResult.ips.map((ip) => {
        const address = ip.address.split('/')[0] ?? '';
        return { family: address.includes(':') ? 6 : 4, address };
      });
      const held = new Set(
        (await this.#deps.ipam.listAllocations(this.#deps.node))
          .filter((a) => a.handle === handle)
          .map((a) => a.address),
      );
      const problems = addresses
        .filter((a) => !held.has(a.address))
        .map((a) => `IPAM holds no allocation of ${a.address} for ${handle}`);
      try {
        this.#deps.pods.check(podAttachment(req, addresses));
      } catch (err) {
        if (!(err instanceof PodCheckError)) throw err;
        problems.push(...err.problems);
      }
      if (problems.length > 0)
        throw new CniError(
          CNI_ERR_CHECK_FAILED,
          'attachment does not match its ADD result',
          problems.join('; '),
        );
    });
  }

  async status(_req: CniStatusRequest): Promise<void> {
    const pools = await this.#deps.datastore.list<IPPool>(KIND_POOL);
    if (!pools.items.some((p) => p.spec?.disabled !== true)) {
      throw new CniError(
        CNI_ERR_PLUGIN_NOT_AVAILABLE,
        'no enabled IPPool',
        'create an IPPool before scheduling pods',
      );
    }
  }

  async gc(req: CniGcRequest): Promise<void> {
    const valid = req.validAttachments.map((a) => attachmentHandle(a.containerId, a.ifName));
    // Attachments by handle, read before the pass: a released allocation is gone from IPAM after it.
    const attachments = new Map(
      (await this.#deps.ipam.listAllocations(this.#deps.node)).map((a) => [a.handle, a.attributes]),
    );
    const report = await this.#deps.gc.gc([...valid, ...this.#deps.inflight.handles()]);
    for (const released of report.released) {
      const attrs = attachments.get(released.handle);
      if (attrs?.containerID !== undefined && attrs.ifname !== undefined) {
        await this.#attachments.run(released.handle, async () => {
          this.#deps.pods.del(attrs.containerID!, attrs.ifname!);
        });
      }
    }
    this.#deps.log.info({ released: report.released, suspected: report.suspected }, 'CNI GC pass');
  }

  async #assign(req: CniAddRequest, handle: string): Promise<AssignResult> {
    const { ipam } = req.config;
    const pools = [
      ...(ipam.assignIPv4 ? (ipam.ipv4Pools ?? []) : []),
      ...(ipam.assignIPv6 ? (ipam.ipv6Pools ?? []) : []),
    ];
    try {
      return await this.#deps.ipam.assign({
        handle,
        node: this.#deps.node,
        nodeLabels: this.#deps.nodeLabels(),
        attributes: {
          containerID: req.containerId,
          ifname: req.ifName,
          ...(req.args['K8S_POD_NAMESPACE'] ? { namespace: req.args['K8S_POD_NAMESPACE'] } : {}),
          ...(req.args['K8S_POD_NAME'] ? { pod: req.args['K8S_POD_NAME'] } : {}),
        },
        v4: ipam.assignIPv4,
        v6: ipam.assignIPv6,
        ...(pools.length > 0 ? { pools } : {}),
      });
    } catch (err) {
      if (err instanceof IpamExhaustedError)
        throw new CniError(CNI_ERR_POOL_EXHAUSTED, 'no address available', err.message);
      throw err;
    }
  }
}

function podAttachment(req: CniAddRequest | CniCheckRequest, addresses: PodAddress[]): PodAttachment {
  return {
    containerId: req.containerId,
    ifname: req.ifName,
    netnsPath: req.netns,
    mtu: req.config.mtu,
    addresses,
  };
}

function translatePodError(err: unknown): unknown {
  if (err instanceof NetnsGoneError)
    return new CniError(CNI_ERR_INVALID_ENVIRONMENT, 'network namespace does not exist', err.message);
  if (err instanceof AttachmentExistsError)
    return new CniError(CNI_ERR_ATTACHMENT_EXISTS, 'attachment already exists', err.message);
  return err;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
