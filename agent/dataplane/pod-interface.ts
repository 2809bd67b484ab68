// The pod side of the dataplane: one veth pair per attachment, the pod's address as /32 (/128),
// a link-local gateway answered by the host veth (proxy ARP for IPv4, the host veth's own EUI-64
// link-local address for IPv6), and a host route to the pod through its veth. No bridge, no
// tunnel, no NAT. Every kernel change goes through netlink (src/netlink): no process per pod.
import { existsSync } from 'node:fs';
import type { Logger } from '../../src/log.js';
import {
  type LinkInfo,
  NetlinkError,
  RouteNetlink,
  type RouteSpec,
  TRELLIS_RT_PROTO,
  writeSysctl,
} from '../../src/netlink/index.js';
import { HOST_VETH_MAC, hostVethName, POD_GATEWAY_V4, POD_GATEWAY_V6 } from './naming.js';

export interface PodAddress {
  family: 4 | 6;
  /** A bare address; the pod gets it as /32 or /128. */
  address: string;
}

export interface PodAttachment {
  containerId: string;
  ifname: string;
  netnsPath: string;
  mtu: number;
  addresses: PodAddress[];
}

export interface PodInterfaceInfo {
  hostIfname: string;
  hostMac: string;
  podMac: string;
}

/** A live attachment does not match what ADD set up; `problems` lists each difference. */
export class PodCheckError extends Error {
  override readonly name = 'PodCheckError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** ADD found the attachment already in place: the runtime broke the CNI rule of DEL before re-ADD. */
export class AttachmentExistsError extends Error {
  override readonly name = 'AttachmentExistsError';
}

/** The namespace path does not exist (the container is gone before its ADD ran). */
export class NetnsGoneError extends Error {
  override readonly name = 'NetnsGoneError';
}

const bits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

export function hostRouteFor(addr: PodAddress, hostIfindex: number): RouteSpec {
  return {
    family: addr.family,
    dst: `${addr.address}/${bits(addr.family)}`,
    oif: hostIfindex,
    scope: 'link',
    protocol: TRELLIS_RT_PROTO,
  };
}

export class PodInterfaces {
  readonly #host: RouteNetlink;
  readonly #log: Logger;
  readonly #hostNetns: string | undefined;

  /**
   * `host` is a netlink socket in the node's network namespace; `hostNetnsPath` names that
   * namespace when it is not the one this process runs in (tests drive several nodes from one
   * process), so host-side sysctls land there too.
   */
  constructor(host: RouteNetlink, log: Logger, hostNetnsPath?: string) {
    this.#host = host;
    this.#log = log;
    this.#hostNetns = hostNetnsPath;
  }

  /**
   * Creates the attachment. On any failure everything created so far is removed, so a failed ADD
   * leaves no veth and no route behind.
   */
  add(att: PodAttachment): PodInterfaceInfo {
    if (!existsSync(att.netnsPath))
      throw new NetnsGoneError(`network namespace ${att.netnsPath} does not exist`);
    const hostIfname = hostVethName(att.containerId, att.ifname);
    if (this.#host.findLink(hostIfname) !== undefined) {
      throw new AttachmentExistsError(
        `container ${att.containerId} already has interface ${att.ifname} (host veth ${hostIfname}); DEL it first`,
      );
    }
    const wantV6 = att.addresses.some((a) => a.family === 6);
    // Created down: IPv6 DAD must be off before the link comes up, or the gateway's link-local
    // address would sit in "tentative" for a second and the pod's first packets would be lost.
    const host = this.#host.createVeth({
      name: hostIfname,
      mtu: att.mtu,
      mac: HOST_VETH_MAC,
      up: false,
      peer: { name: att.ifname, netnsPath: att.netnsPath, mtu: att.mtu },
    });
    try {
      configureHostSide(hostIfname, wantV6, this.#hostNetns);
      this.#host.setLinkUp(host.index);
      const podMac = configurePodSide(att);
      for (const addr of att.addresses)
        this.#host.addRoute(hostRouteFor(addr, host.index), { replace: true });
      this.#log.debug(
        { hostIfname, containerId: att.containerId, addresses: att.addresses },
        'pod interface up',
      );
      return { hostIfname, hostMac: HOST_VETH_MAC, podMac };
    } catch (err) {
      this.#removeHostVeth(hostIfname);
      throw err;
    }
  }

  /**
   * Removes the attachment; success when it is already gone. Deleting the host veth deletes its
   * peer in the pod and the kernel drops the host routes through it.
   */
  del(containerId: string, ifname: string): boolean {
    return this.#removeHostVeth(hostVethName(containerId, ifname));
  }

  /** Verifies interface, addresses and routes against what ADD set up. */
  check(att: PodAttachment): void {
    const problems: string[] = [];
    const hostIfname = hostVethName(att.containerId, att.ifname);
    const host = this.#host.findLink(hostIfname);
    if (host === undefined) {
      throw new PodCheckError([`host veth ${hostIfname} is missing`]);
    }
    if (!host.up) problems.push(`host veth ${hostIfname} is down`);
    if (host.mac !== HOST_VETH_MAC)
      problems.push(`host veth ${hostIfname} has MAC ${host.mac}, want ${HOST_VETH_MAC}`);
    for (const addr of att.addresses) {
      const routes = this.#host.listRoutes({ family: addr.family, protocol: TRELLIS_RT_PROTO });
      const dst = `${addr.address}/${bits(addr.family)}`;
      if (!routes.some((r) => r.dst === dst && r.oif === host.index)) {
        problems.push(`host route ${dst} dev ${hostIfname} is missing`);
      }
    }
    if (!existsSync(att.netnsPath)) {
      problems.push(`network namespace ${att.netnsPath} is gone`);
    } else {
      problems.push(...checkPodSide(att, host));
    }
    if (problems.length > 0) throw new PodCheckError(problems);
  }

  /** Whether the attachment's host veth exists (a previous ADD that was not deleted). */
  exists(containerId: string, ifname: string): boolean {
    return this.#host.findLink(hostVethName(containerId, ifname)) !== undefined;
  }

  /** Host veth names of every pod attachment on this node (for GC and adoption). */
  listHostVeths(): LinkInfo[] {
    return this.#host.listLinks().filter((l) => l.kind === 'veth' && l.mac === HOST_VETH_MAC);
  }

  #removeHostVeth(name: string): boolean {
    try {
      this.#host.deleteLink(name);
      return true;
    } catch (err) {
      if (err instanceof NetlinkError && (err.code === 'ENODEV' || err.code === 'ENOENT')) return false;
      throw err;
    }
  }
}

function configureHostSide(ifname: string, v6: boolean, netns: string | undefined): void {
  const set = (key: string, value: number): void => writeSysctl(key, value, netns);
  // proxy_arp answers the pod's ARP for 169.254.1.1 (any address, in fact) with the host's MAC;
  // proxy_delay 0 makes it answer at once instead of after a random delay of up to 0.8 s.
  set(`net.ipv4.conf.${ifname}.proxy_arp`, 1);
  set(`net.ipv4.neigh.${ifname}.proxy_delay`, 0);
  set(`net.ipv4.conf.${ifname}.forwarding`, 1);
  if (v6) {
    set(`net.ipv6.conf.${ifname}.accept_dad`, 0);
    set(`net.ipv6.conf.${ifname}.accept_ra`, 0);
    set(`net.ipv6.conf.${ifname}.forwarding`, 1);
  }
}

function configurePodSide(att: PodAttachment): string {
  const pod = RouteNetlink.open({ netnsPath: att.netnsPath });
  try {
    const link = pod.getLink(att.ifname);
    pod.setLinkUp(link.index);
    for (const addr of att.addresses) {
      pod.addAddress({
        ifindex: link.index,
        family: addr.family,
        address: addr.address,
        prefixLen: bits(addr.family),
        nodad: addr.family === 6,
      });
      for (const route of podRoutes(addr.family, link.index)) pod.addRoute(route, { replace: true });
    }
    return link.mac ?? '';
  } finally {
    pod.close();
  }
}

/** Inside the pod: the gateway is on-link, and everything else goes through it. */
function podRoutes(family: 4 | 6, ifindex: number): RouteSpec[] {
  if (family === 4) {
    return [
      { family: 4, dst: `${POD_GATEWAY_V4}/32`, oif: ifindex, scope: 'link', protocol: 4 /* static */ },
      { family: 4, dst: '0.0.0.0/0', gateway: POD_GATEWAY_V4, oif: ifindex, protocol: 4 },
    ];
  }
  return [{ family: 6, dst: '::/0', gateway: POD_GATEWAY_V6, oif: ifindex, protocol: 4 }];
}

function checkPodSide(att: PodAttachment, host: LinkInfo): string[] {
  const problems: string[] = [];
  const pod = RouteNetlink.open({ netnsPath: att.netnsPath });
  try {
    const link = pod.findLink(att.ifname);
    if (link === undefined) return [`interface ${att.ifname} is missing in ${att.netnsPath}`];
    if (!link.up) problems.push(`interface ${att.ifname} in the pod is down`);
    if (link.mtu !== att.mtu) problems.push(`interface ${att.ifname} has MTU ${link.mtu}, want ${att.mtu}`);
    if (host.peerIndex !== undefined && host.peerIndex !== link.index) {
      problems.push(`interface ${att.ifname} is not the peer of host veth ${host.name}`);
    }
    const have = pod.listAddresses(link.index);
    for (const addr of att.addresses) {
      const ok = have.some(
        (a) => a.family === addr.family && a.address === addr.address && a.prefixLen === bits(addr.family),
      );
      if (!ok) problems.push(`address ${addr.address}/${bits(addr.family)} is missing on ${att.ifname}`);
      const routes = pod.listRoutes({ family: addr.family });
      for (const want of podRoutes(addr.family, link.index)) {
        const found = routes.some(
          (r) => r.dst === want.dst && r.oif === link.index && (r.gateway ?? '') === (want.gateway ?? ''),
        );
        if (!found) {
          problems.push(
            `route ${want.dst}${want.gateway ? ` via ${want.gateway}` : ''} dev ${att.ifname} is missing in the pod`,
          );
        }
      }
    }
  } finally {
    pod.close();
  }
  return problems;
}
